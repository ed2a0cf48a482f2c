/** Batching policy, as data (Triton's `max_batch_size` / `max_queue_delay_microseconds`). */
export interface BatchPolicy {
  /** Most inputs in one call of runBatch. */
  maxBatchSize: number;
  /** Longest the oldest pending input waits for its batch to fill, ms. */
  maxDelayMs: number;
}

export type RunBatch<I, O> = (inputs: I[]) => Promise<O[]>;

interface Pending<I, O> {
  input: I;
  enqueuedAt: number;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
}

export class BatcherClosedError extends Error {
  override name = 'BatcherClosedError';
}

/**
 * Dynamic micro-batching over any `runBatch(inputs) -> outputs`; it knows nothing of queues or
 * models. Callers each await their own promise. One batch runs at a time (a forward pass already
 * uses every core); inputs arriving meanwhile form the next batch. A batch starts when it is full
 * or when its oldest input has waited `maxDelayMs`, so a lone input never waits longer than that
 * for company. Outputs are handed back by position, and a batch failure rejects every caller in it.
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly policy: BatchPolicy,
    private readonly runBatch: RunBatch<I, O>,
  ) {
    if (policy.maxBatchSize < 1) throw new RangeError('maxBatchSize must be at least 1');
  }

  /** Inputs waiting for a batch (not counting the batch in flight). */
  get pending(): number {
    return this.queue.length;
  }

  enqueue(input: I): Promise<O> {
    if (this.closed) return Promise.reject(new BatcherClosedError('batcher is closed'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, enqueuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Stops taking inputs, runs what is pending without waiting for the delay, and resolves when all are settled. */
  async close(): Promise<void> {
    this.closed = true;
    this.schedule();
    while (this.running) await this.running;
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const waitedMs = performance.now() - this.queue[0]!.enqueuedAt;
    if (this.closed || this.queue.length >= this.policy.maxBatchSize || waitedMs >= this.policy.maxDelayMs) {
      this.running = this.flush().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    } else {
      this.timer = setTimeout(() => this.schedule(), this.policy.maxDelayMs - waitedMs);
    }
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.policy.maxBatchSize);
    try {
      const outputs = await this.runBatch(batch.map((p) => p.input));
      if (outputs.length !== batch.length) {
        throw new Error(`runBatch returned ${outputs.length} outputs for ${batch.length} inputs`);
      }
      batch.forEach((p, i) => p.resolve(outputs[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
