import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClassifier, ModelLoadError, type Classifier } from '../../src/model/classifier.js';
import { startInferenceThread } from '../../src/model/inference-thread.js';
import { decodeCrop, prepareImage } from '../../src/model/preprocess.js';
import { image } from '../support/http.js';
import { modelDir } from '../support/paths.js';

/**
 * How many turns the event loop makes while `work` runs (a setImmediate chain). A free loop turns
 * many times whatever the machine's load; a loop blocked by a synchronous native call does not
 * turn at all until the call returns. Counting turns instead of timing stalls keeps the test
 * independent of how busy the machine is.
 */
async function loopTurnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const spin = () => {
    if (!running) return;
    turns++;
    setImmediate(spin);
  };
  const done = work();
  setImmediate(spin);
  await done;
  running = false;
  return turns;
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
      expect(a.map((l) => threaded.predictions(l, 1)[0]!.label)).toEqual([
        'espresso',
        'orange',
        'bald_eagle',
        'baboon',
      ]);
      a.forEach((row, i) => {
        for (let c = 0; c < row.length; c += 97) expect(row[c]).toBeCloseTo(b[i]![c]!, 4);
      });
    } finally {
      await inProcess.close();
    }
  });

  it('keeps the event loop free while a batch runs (in-process inference blocks it for the whole batch)', async () => {
    const batch = [...crops, ...crops];
    const threadTurns = await loopTurnsDuring(() => threaded.run(batch));
    const inProcess = await loadClassifier(modelDir, { intraOpThreads: 2 });
    try {
      await inProcess.run(batch);
      // The control: onnxruntime-node's run() is synchronous, so the loop waits for the whole batch.
      expect(await loopTurnsDuring(() => inProcess.run(batch))).toBeLessThanOrEqual(2);
    } finally {
      await inProcess.close();
    }
    expect(threadTurns).toBeGreaterThan(50);
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
