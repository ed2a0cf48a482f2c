import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClassifier, ModelLoadError, type Classifier } from '../../src/model/classifier.js';
import { decodeCrop, prepareImage } from '../../src/model/preprocess.js';
import { image } from '../support/http.js';
import { expectedTop1, modelDir } from '../support/paths.js';

let classifier: Classifier;

async function pixels(name: string): Promise<Buffer> {
  const prepared = await prepareImage(await image(name), classifier.manifest, { maxImagePixels: 50_000_000 });
  return decodeCrop(prepared.png, classifier.manifest.inputSize);
}

beforeAll(async () => {
  classifier = await loadClassifier(modelDir, { intraOpThreads: 2 });
});
afterAll(() => classifier.close());

describe('classifier on the real ResNet-50', () => {
  it('reads the model contract from the session and the shared directory', () => {
    expect(classifier.labels).toHaveLength(1000);
    expect(classifier.labels[162]).toBe('beagle');
    expect(classifier.manifest).toMatchObject({ name: 'resnet50-v1.5', inputSize: 224, topk: 5 });
  });

  it('gives the expected top-1 for every shared photo, in one batch', async () => {
    const names = Object.keys(expectedTop1);
    const logits = await classifier.run(await Promise.all(names.map(pixels)));
    names.forEach((name, i) => {
      const [top] = classifier.predictions(logits[i]!, 1);
      expect(expectedTop1[name], name).toContain(top!.label);
    });
    const coffee = classifier.predictions(logits[names.indexOf('coffee.png')]!, 1)[0]!;
    expect(coffee.probability).toBeGreaterThan(0.9);
  });

  it('gives the same answer for an image alone and inside a batch', async () => {
    const eagle = await pixels('eagle.jpg');
    const [alone] = await classifier.run([eagle]);
    const batched = await classifier.run([await pixels('orange.jpg'), eagle, await pixels('baboon.jpg')]);
    for (let i = 0; i < 1000; i++) expect(batched[1]![i]).toBeCloseTo(alone![i]!, 3);
  });
});

describe('loadClassifier refuses a broken model directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'model-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

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
    await rm(path.join(dir, 'manifest.json'));
  });
});
