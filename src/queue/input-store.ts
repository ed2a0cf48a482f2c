import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

export interface InputStoreOptions {
  /** Backstop lifetime of a stored input, seconds; normally it is deleted when its job finishes. */
  ttlSeconds: number;
  /**
   * How old an input must be before the sweep deletes it for having no job, seconds (default 600).
   * The API stores the input just before it adds the job, and a batch stores each image's input as
   * its part arrives but adds the jobs when the whole upload has been read, so a young input
   * without a job is a submission in flight, not an orphan. Node's HTTP server ends any request
   * after 300 s (`requestTimeout`), so no upload is still in flight at 600 s.
   */
  orphanGraceSeconds?: number;
}

/**
 * Calls of one kind made in the same tick, sent together: a worker fetches several jobs at once
 * (its concurrency) and a batch's jobs finish at once, so their reads and writes go as one
 * command (MGET, one DEL) or one MULTI instead of one round trip each. `send` answers per item, in order.
 */
class TickBatch<T, R> {
  private items: { item: T; resolve: (value: R) => void; reject: (err: unknown) => void }[] = [];

  constructor(private readonly send: (items: T[]) => Promise<R[]>) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.items.push({ item, resolve, reject }) === 1) process.nextTick(() => this.flush());
    });
  }

  private flush(): void {
    const calls = this.items;
    this.items = [];
    this.send(calls.map((c) => c.item)).then(
      (values) => calls.forEach((c, i) => c.resolve(values[i]!)),
      (err: unknown) => calls.forEach((c) => c.reject(err)),
    );
  }
}

/**
 * The stored input of each job: written by the API at submit, read by the worker, deleted when
 * the job reaches a terminal state. The bytes are opaque here (their encoding is the model's
 * business). BullMQ moves a job to completed/failed in a Lua script that cannot delete a key of
 * ours, so "deleted with the terminal state" is kept as an order instead: the worker replaces the
 * input with the job's outcome in one MULTI (`finish`, awaited) before it hands the outcome to
 * BullMQ, so nobody sees a finished job whose input still exists. If BullMQ then cannot record
 * the state (the lock was lost in a Redis outage) the job runs again and replays the stored
 * outcome instead of failing for want of its input. The outcome key goes once the state is
 * recorded (`forgetOutcome`). Cancel deletes the input in the same MULTI that writes the cancelled
 * record. Whatever a crash leaves between those steps, `sweep` removes.
 */
export class InputStore {
  private readonly graceSeconds: number;
  private readonly reads = new TickBatch<string, Buffer | null>((ids) =>
    this.redis.mgetBuffer(...ids.map((id) => this.keys.input(id))),
  );
  private readonly finishes = new TickBatch<{ jobId: string; outcome: string }, void>(async (items) => {
    const multi = this.redis.multi();
    for (const { jobId, outcome } of items) {
      multi.set(this.keys.outcome(jobId), outcome, 'EX', this.options.ttlSeconds).del(this.keys.input(jobId));
    }
    await multi.exec();
    return [];
  });
  private readonly forgets = new TickBatch<string, void>(async (ids) => {
    await this.redis.del(...ids.map((id) => this.keys.outcome(id)));
    return [];
  });

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: QueueKeys,
    private readonly options: InputStoreOptions,
  ) {
    this.graceSeconds = options.orphanGraceSeconds ?? 600;
  }

  async put(jobId: string, bytes: Buffer): Promise<void> {
    await this.redis.set(this.keys.input(jobId), bytes, 'EX', this.options.ttlSeconds);
  }

  /** The stored bytes, or null when they expired or were deleted. Reads of the same tick go as one MGET. */
  get(jobId: string): Promise<Buffer | null> {
    return this.reads.add(jobId);
  }

  async delete(jobId: string): Promise<void> {
    await this.redis.del(this.keys.input(jobId));
  }

  /**
   * Deletes the input and keeps the job's final outcome (opaque text) in its place, in one MULTI
   * (with the other jobs finishing in the same tick: a batch's).
   */
  finish(jobId: string, outcome: string): Promise<void> {
    return this.finishes.add({ jobId, outcome });
  }

  /** The outcome `finish` kept, while BullMQ has not yet recorded the job as finished; null otherwise. */
  outcome(jobId: string): Promise<string | null> {
    return this.redis.get(this.keys.outcome(jobId));
  }

  /** Once BullMQ has recorded the terminal state, the kept outcome has served its purpose. */
  forgetOutcome(jobId: string): Promise<void> {
    return this.forgets.add(jobId);
  }

  /** Adds the deletion to a MULTI the caller executes, so it happens in one step with the caller's writes. */
  deleteIn(multi: ChainableCommander, jobId: string): ChainableCommander {
    return multi.del(this.keys.input(jobId));
  }

  /**
   * Deletes every input (and kept outcome) whose job is finished (completed or failed) or gone
   * (removed, expired, or never added, past the grace period). One SCAN over the input keys and one pipelined round
   * trip per page: cheap enough to run at worker start and every minute. Returns how many it deleted.
   */
  async sweep(): Promise<number> {
    let deleted = 0;
    // SCAN walks one server: on a Cluster, each master (the queue's keys are all on one of them).
    const servers = 'nodes' in this.redis ? this.redis.nodes('master') : [this.redis];
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', this.keys.inputPattern, 'COUNT', 500);
        cursor = next;
        if (keys.length === 0) continue;
        const ids = keys.map((key) => key.slice(key.lastIndexOf(':') + 1));
        const checks = this.redis.pipeline();
        for (const [i, id] of ids.entries()) {
          checks.exists(this.keys.job(id)).zscore(this.keys.completed, id).zscore(this.keys.failed, id).ttl(keys[i]!);
        }
        const replies = (await checks.exec()) ?? [];
        const orphans = keys.filter((_, i) => {
          const [exists, completed, failed, ttl] = replies
            .slice(i * 4, i * 4 + 4)
            .map(([err, value]) => (err ? undefined : value));
          if (completed !== null && completed !== undefined) return true;
          if (failed !== null && failed !== undefined) return true;
          const ageSeconds = this.options.ttlSeconds - Number(ttl);
          return exists === 0 && ageSeconds > this.graceSeconds;
        });
        if (orphans.length > 0) deleted += await this.redis.del(...orphans);
      } while (cursor !== '0');
    }
    return deleted;
  }
}
