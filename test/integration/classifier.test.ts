import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadClassifier, ModelLoadError, type Classifier } from '../../src/model/classifier.js';
import { decodeCrop, prepareImage } from '../../src/model/preprocess.js';
import { image } from '../support/http.js';
import { expectedTop1, int8ModelDir, modelDir } from '../support/paths.js';
import { phonePhoto } from '../../bench/phone-photos.js';

const limits = { maxImagePixels: 50_000_000 };
/** The shared photos and their 12 MP phone versions, made once for both models (each costs about a second). */
const photos = Promise.all(Object.keys(expectedTop1).map(image));
const phoneVersions = photos.then((originals) => Promise.all(originals.map(phonePhoto)));

describe.each([
  ['float32', modelDir, 'resnet50-v1.5', 'fp32'],
  ['int8', int8ModelDir, 'resnet50-v1.5-int8', 'int8'],
] as const)('classifier on the real ResNet-50, %s', (_name, dir, name, precision) => {
  let classifier: Classifier;
  const pixels = async (bytes: Buffer) =>
    decodeCrop((await prepareImage(bytes, classifier.manifest, limits)).crop, classifier.manifest.inputSize);
  const top1 = async (photos: Buffer[]) =>
    (await classifier.run(await Promise.all(photos.map(pixels)))).map((l) => classifier.predictions(l, 1)[0]!);

  beforeAll(async () => {
    classifier = await loadClassifier(dir, { intraOpThreads: 2 });
  });
  afterAll(() => classifier.close());

  it('reads the model contract from the session and the shared directory, and its precision from the graph', () => {
    expect(classifier.labels).toHaveLength(1000);
    expect(classifier.labels[162]).toBe('beagle');
    expect(classifier.manifest).toMatchObject({ name, inputSize: 224, topk: 5 });
    expect(classifier.precision).toBe(precision);
  });

  it('gives the expected top-1 for every shared photo, in one batch', async () => {
    const names = Object.keys(expectedTop1);
    const tops = await top1(await Promise.all(names.map(image)));
    names.forEach((n, i) => expect(expectedTop1[n], n).toContain(tops[i]!.label));
    expect(tops[names.indexOf('coffee.png')]!.probability).toBeGreaterThan(0.9);
  });

  it('gives each shared photo the same top-1 as a 12 MP EXIF-rotated phone JPEG', async () => {
    const phone = await top1(await phoneVersions);
    expect(phone.map((p) => p.label)).toEqual((await top1(await photos)).map((p) => p.label));
  });

  it('gives the same answer for an image alone and inside a batch', async () => {
    const eagle = await pixels(await image('eagle.jpg'));
    const [alone] = await classifier.run([eagle]);
    const batched = await classifier.run([
      await pixels(await image('orange.jpg')),
      eagle,
      await pixels(await image('baboon.jpg')),
    ]);
    for (let i = 0; i < 1000; i++) expect(batched[1]![i]).toBeCloseTo(alone![i]!, 3);
  });
});

describe('loadClassifier refuses a broken model directory', () => {
  // A directory per test: what one writes into it must not decide another's outcome.
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'model-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('names a missing model file', async () => {
    await expect(loadClassifier(dir, { intraOpThreads: 1 })).rejects.toThrow(/model\.onnx not found/);
  });

  it('names a corrupt model file', async () => {
    await cp(path.join(modelDir, 'imagenet_class_index.json'), path.join(dir, 'imagenet_class_index.json'));
    await writeFile(path.join(dir, 'model.onnx'), 'not a model');
    const err: unknown = await loadClassifier(dir, { intraOpThreads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(/not a loadable ONNX model/);
  });

  it('rejects a manifest with unknown fields', async () => {
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ inputSize: 224, mystery: true }));
    await expect(loadClassifier(dir, { intraOpThreads: 1 })).rejects.toThrow(/bad manifest/);
  });
});
