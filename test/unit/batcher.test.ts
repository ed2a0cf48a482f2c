import { describe, expect, it } from 'vitest';
import { BatcherClosedError, MicroBatcher } from '../../src/worker/batcher.js';

function recorder(delayMs = 0) {
  const batches: number[][] = [];
  const run = async (inputs: number[]) => {
    batches.push(inputs);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return inputs.map((x) => x * 10);
  };
  return { batches, run };
}

describe('MicroBatcher', () => {
  it('runs a full batch at once, without waiting for the delay', async () => {
    const { batches, run } = recorder();
    const batcher = new MicroBatcher({ maxBatchSize: 4, maxDelayMs: 60_000 }, run);
    const out = await Promise.all([1, 2, 3, 4].map((x) => batcher.enqueue(x)));
    expect(out).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('runs a lone input after maxDelayMs, not later', async () => {
    const { batches, run } = recorder();
    const batcher = new MicroBatcher({ maxBatchSize: 8, maxDelayMs: 50 }, run);
    const started = performance.now();
    expect(await batcher.enqueue(7)).toBe(70);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(1000);
    expect(batches).toEqual([[7]]);
  });

  it('groups inputs that arrive together within the delay', async () => {
    const { batches, run } = recorder();
    const batcher = new MicroBatcher({ maxBatchSize: 8, maxDelayMs: 30 }, run);
    const first = batcher.enqueue(1);
    await new Promise((r) => setTimeout(r, 5));
    const second = batcher.enqueue(2);
    expect(await Promise.all([first, second])).toEqual([10, 20]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('runs one batch at a time; inputs arriving meanwhile form the next, split at maxBatchSize', async () => {
    const { batches, run } = recorder(40);
    const batcher = new MicroBatcher({ maxBatchSize: 3, maxDelayMs: 0 }, run);
    const first = batcher.enqueue(0);
    await new Promise((r) => setTimeout(r, 5));
    const rest = [1, 2, 3, 4, 5].map((x) => batcher.enqueue(x));
    expect(batcher.pending).toBe(5);
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('rejects every caller of a failed batch, and keeps serving afterwards', async () => {
    let fail = true;
    const batcher = new MicroBatcher({ maxBatchSize: 2, maxDelayMs: 0 }, (inputs: number[]) =>
      fail ? Promise.reject(new Error('boom')) : Promise.resolve(inputs),
    );
    const results = await Promise.allSettled([batcher.enqueue(1), batcher.enqueue(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.enqueue(3)).toBe(3);
  });

  it('rejects when runBatch returns the wrong number of outputs', async () => {
    const batcher = new MicroBatcher({ maxBatchSize: 2, maxDelayMs: 60_000 }, (inputs: number[]) =>
      Promise.resolve(inputs.slice(1)),
    );
    const results = await Promise.allSettled([batcher.enqueue(1), batcher.enqueue(2)]);
    expect(results.every((r) => r.status === 'rejected' && /1 outputs for 2 inputs/.test(String(r.reason)))).toBe(true);
  });

  it('close() runs pending inputs at once and refuses new ones', async () => {
    const { batches, run } = recorder();
    const batcher = new MicroBatcher({ maxBatchSize: 8, maxDelayMs: 60_000 }, run);
    const pending = batcher.enqueue(5);
    await batcher.close();
    expect(await pending).toBe(50);
    expect(batches).toEqual([[5]]);
    await expect(batcher.enqueue(6)).rejects.toBeInstanceOf(BatcherClosedError);
  });
});
