import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatcherClosedError, MicroBatcher } from '../../src/worker/batcher.js';

/** Records each batch; a batch's outputs are held back until `release()` when `gated`. */
function recorder(gated = false) {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (inputs: number[]) => {
    batches.push(inputs);
    if (gated) await new Promise<void>((release) => gates.push(release));
    return inputs.map((x) => x * 10);
  };
  return { batches, run, release: () => gates.shift()!() };
}

/** Lets settled promises run their callbacks without moving the fake clock. */
const drain = () => vi.advanceTimersByTimeAsync(0);

describe('MicroBatcher', () => {
  // The batcher measures waits with performance.now() and schedules with setTimeout: both fake.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

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
    const out = batcher.enqueue(7);
    await vi.advanceTimersByTimeAsync(49);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[7]]);
    expect(await out).toBe(70);
  });

  it('groups inputs that arrive together within the delay', async () => {
    const { batches, run } = recorder();
    const batcher = new MicroBatcher({ maxBatchSize: 8, maxDelayMs: 30 }, run);
    const first = batcher.enqueue(1);
    await vi.advanceTimersByTimeAsync(5);
    const second = batcher.enqueue(2);
    // The delay counts from the oldest input: 25 ms more, not 30 from the second.
    await vi.advanceTimersByTimeAsync(24);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await Promise.all([first, second])).toEqual([10, 20]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('runs one batch at a time; inputs arriving meanwhile form the next, split at maxBatchSize', async () => {
    const { batches, run, release } = recorder(true);
    const batcher = new MicroBatcher({ maxBatchSize: 3, maxDelayMs: 0 }, run);
    const first = batcher.enqueue(0);
    const rest = [1, 2, 3, 4, 5].map((x) => batcher.enqueue(x));
    expect(batches).toEqual([[0]]);
    expect(batcher.pending).toBe(5);
    release();
    await drain();
    expect(batches).toEqual([[0], [1, 2, 3]]);
    expect(batcher.pending).toBe(2);
    release();
    await drain();
    release();
    expect(await Promise.all([first, ...rest])).toEqual([0, 10, 20, 30, 40, 50]);
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
