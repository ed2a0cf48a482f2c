import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadClassifier } from '../../src/model/classifier.js';
import { DownloadError, type DownloadProgress } from '../../src/model/download-file.js';
import { fetchModel, ModelFetchError } from '../../src/model/fetch-model.js';
import { loadManifest } from '../../src/model/manifest.js';
import type { ModelSource } from '../../src/model/model-source.js';
import { decodeCrop, prepareImage } from '../../src/model/preprocess.js';
import { image } from '../support/http.js';
import { startModelServer, type ModelServer } from '../support/model-server.js';
import { modelDir as sharedModelDir } from '../support/paths.js';

/** The shared model's size and sha256, from ../shared/models/resnet50-v1.5/README.md. */
const modelBytes = 102_133_623;
const modelSha256 = 'e3032851b38d32d9e31da41179e588c315fe3a6c50817b61e9456f006bd33cbb';

let server: ModelServer;
let dir: string;
let source: ModelSource;
const quick = { whenPresent: 'verify', retryDelayMs: 10 } as const;

beforeAll(async () => {
  server = await startModelServer(path.join(sharedModelDir, 'model.onnx'));
});
afterAll(() => server.close());
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fetch-model-'));
  source = { name: 'served-resnet', url: server.url, sha256: modelSha256, bytes: modelBytes };
  server.requests.length = 0;
  server.behaviour.cutAfterBytes = undefined;
  server.behaviour.ignoreRange = false;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const listDir = async () => (await readdir(dir)).sort();
const sizeOf = async (file: string) => (await stat(path.join(dir, file))).size;

describe('fetchModel', () => {
  it('downloads, verifies and installs a model that loadClassifier loads and that classifies with labels', async () => {
    const progress: DownloadProgress[] = [];
    expect(await fetchModel(dir, source, { ...quick, onProgress: (p) => progress.push(p) })).toBe('downloaded');
    expect(await listDir()).toEqual(['imagenet_class_index.json', 'manifest.json', 'model.onnx']);
    expect(await sizeOf('model.onnx')).toBe(modelBytes);
    expect(await loadManifest(dir)).toMatchObject({
      name: 'served-resnet',
      file: 'model.onnx',
      labels: 'imagenet_class_index.json',
      inputSize: 224,
    });
    expect(progress.at(-1)).toMatchObject({ receivedBytes: modelBytes, totalBytes: modelBytes });
    expect(progress.at(-1)!.bytesPerSecond).toBeGreaterThan(0);

    const classifier = await loadClassifier(dir, { intraOpThreads: 2 });
    try {
      const prepared = await prepareImage(await image('coffee.png'), classifier.manifest, {
        maxImagePixels: 50_000_000,
      });
      const [logits] = await classifier.run([await decodeCrop(prepared.crop, 224)]);
      expect(classifier.predictions(logits!, 1)[0]).toMatchObject({ label: 'espresso', classId: 967 });
      expect(classifier.manifest.name).toBe('served-resnet');
    } finally {
      await classifier.close();
    }
    // Run again: the model is there and matches, so nothing is downloaded.
    expect(await fetchModel(dir, source, quick)).toBe('present');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a download whose checksum does not match, leaving no model file behind', async () => {
    const wrong = { ...source, sha256: 'ab65bdc02c5b3123eb3cdf6dac01742438517d8635d4f233913b2be1c70db3b6' };
    const err: unknown = await fetchModel(dir, wrong, quick).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect((err as Error).message).toMatch(
      /checksum mismatch .*got sha256 e3032851.*expected ab65bdc0.*nothing was installed/,
    );
    expect(await listDir()).toEqual([]);
  });

  it('refuses a model already in place that does not match the pinned checksum', async () => {
    await writeFile(path.join(dir, 'model.onnx'), 'someone else’s model');
    await expect(fetchModel(dir, source, quick)).rejects.toThrow(
      /already exists with sha256 [0-9a-f]{64}, not the pinned e3032851/,
    );
    expect(await readFile(path.join(dir, 'model.onnx'), 'utf8')).toBe('someone else’s model');
    expect(server.requests).toHaveLength(0);
  });

  it('keeps the bytes of a cut connection and resumes them with a Range request on the next run', async () => {
    server.behaviour.cutAfterBytes = 30_000_000;
    const err: unknown = await fetchModel(dir, source, { ...quick, attempts: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/broke off after \d+ bytes/);
    expect(await listDir()).toEqual(['model.onnx.part']);
    const kept = await sizeOf('model.onnx.part');
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(30_000_000);

    expect(await fetchModel(dir, source, quick)).toBe('downloaded');
    expect(server.requests).toEqual([
      { range: undefined, status: 200 },
      { range: `bytes=${kept}-`, status: 206 },
    ]);
    expect(await listDir()).toEqual(['imagenet_class_index.json', 'manifest.json', 'model.onnx']);
  });

  it('retries a cut connection by itself, resuming where it broke off', async () => {
    server.behaviour.cutAfterBytes = 20_000_000;
    const lines: string[] = [];
    expect(await fetchModel(dir, source, { ...quick, attempts: 2, log: (l) => lines.push(l) })).toBe('downloaded');
    expect(server.requests.map((r) => r.status)).toEqual([200, 206]);
    expect(lines.join('\n')).toMatch(/broke off .*attempt 2 of 2/);
    expect(lines.join('\n')).toMatch(/resuming at byte \d+/);
  });

  it('starts over cleanly when the server ignores Range', async () => {
    await writeFile(path.join(dir, 'model.onnx.part'), Buffer.alloc(5_000_000, 0xff));
    server.behaviour.ignoreRange = true;
    const lines: string[] = [];
    expect(await fetchModel(dir, source, { ...quick, log: (l) => lines.push(l) })).toBe('downloaded');
    expect(server.requests).toEqual([{ range: 'bytes=5000000-', status: 200 }]);
    expect(lines.join('\n')).toMatch(/ignored the Range request/);
    expect(await sizeOf('model.onnx')).toBe(modelBytes);
  });

  it('discards a partial file larger than the pinned size without asking for a range', async () => {
    await writeFile(path.join(dir, 'model.onnx.part'), Buffer.alloc(modelBytes + 10));
    expect(await fetchModel(dir, source, quick)).toBe('downloaded');
    expect(server.requests).toEqual([{ range: undefined, status: 200 }]);
  });

  it('verifies a complete partial file left by a run stopped before its check, without a request', async () => {
    await copyFile(path.join(sharedModelDir, 'model.onnx'), path.join(dir, 'model.onnx.part'));
    expect(await fetchModel(dir, source, quick)).toBe('downloaded');
    expect(server.requests).toEqual([]);
    expect(await listDir()).toEqual(['imagenet_class_index.json', 'manifest.json', 'model.onnx']);
  });

  it('lets processes sharing a directory take turns: one downloads, the other finds the model', async () => {
    const outcomes = await Promise.all([fetchModel(dir, source, quick), fetchModel(dir, source, quick)]);
    expect(outcomes.sort()).toEqual(['downloaded', 'present']);
    expect(server.requests).toHaveLength(1);
    expect(await listDir()).toEqual(['imagenet_class_index.json', 'manifest.json', 'model.onnx']);
  });
});
