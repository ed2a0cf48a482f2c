import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClassifier, ModelLoadError, type Classifier } from '../../src/model/classifier.js';
import { startInferenceThread } from '../../src/model/inference-thread.js';
import { decodeCrop, prepareImage } from '../../src/model/preprocess.js';
import { image } from '../support/http.js';
import { modelDir } from '../support/paths.js';

/** Worst event-loop stall (ms) while `work` runs, sampled every millisecond. */
async function worstStallMs(work: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await work();
  // A stall is recorded by the first tick after it: let that tick happen.
  await new Promise((resolve) => setTimeout(resolve, 20));
  histogram.disable();
  return histogram.max / 1e6;
}

describe('the inference thread', () => {
  let threaded: Classifier;
  let crops: Buffer[];
  beforeAll(async () => {
    threaded = await startInferenceThread(modelDir, { intraOpThreads: 2 });
    crops = await Promise.all(
      ['coffee.png', 'orange.jpg', 'eagle.jpg', 'baboon.jpg'].map(async (n) =>
        decodeCrop((await prepareImage(await image(n), threaded.manifest, { maxImagePixels: 50_000_000 })).crop, 224),
      ),
    );
  });
  afterAll(() => threaded.close());

  it('gives the same logits as the model loaded in-process', async () => {
    const inProcess = await loadClassifier(modelDir, { intraOpThreads: 2 });
    try {
      const [a, b] = [await threaded.run(crops), await inProcess.run(crops)];
      expect(a.map((l) => threaded.predictions(l, 1)[0]!.label)).toEqual(['espresso', 'orange', 'bald_eagle', 'baboon']);
      a.forEach((row, i) => {
        for (let c = 0; c < row.length; c += 97) expect(row[c]).toBeCloseTo(b[i]![c]!, 4);
      });
    } finally {
      await inProcess.close();
    }
  });

  it('keeps the event loop free while a batch runs (in-process inference blocks it for the whole batch)', async () => {
    const batch = [...crops, ...crops];
    const started = performance.now();
    const threadStall = await worstStallMs(() => threaded.run(batch));
    const batchMs = performance.now() - started;
    const inProcess = await loadClassifier(modelDir, { intraOpThreads: 2 });
    try {
      await inProcess.run(batch);
      const blockedStall = await worstStallMs(() => inProcess.run(batch));
      expect(blockedStall).toBeGreaterThan(0.5 * batchMs);
    } finally {
      await inProcess.close();
    }
    expect(threadStall).toBeLessThan(Math.min(50, 0.25 * batchMs));
  });

  it('reports a model that cannot load as a ModelLoadError naming the file', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'no-model-'));
    try {
      const err: unknown = await startInferenceThread(empty, { intraOpThreads: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect((err as Error).message).toMatch(/model\.onnx not found/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
