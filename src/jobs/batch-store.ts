import { Job, type Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import { z } from 'zod';
import { notFound } from '../errors.js';
import { queueKeys, type QueueKeys } from '../queue/keys.js';
import type { PreparedImage } from '../model/preprocess.js';
import { idempotencyDigest, redisCall, type JobStore, type Submission } from './job-store.js';
import { BatchIdSchema, type BatchEntryView, type BatchView } from '../api/wire.js';

/** An image of the upload: accepted (its crop stored under `jobId`), or rejected with an error. */
export type BatchEntry =
  | { filename: string; jobId: string; image: Pick<PreparedImage, 'width' | 'height' | 'source'> }
  | { filename: string; error: { code: string; message: string } };

/**
 * What the batch record keeps per entry: the filename, and the job ID with the queue it runs in
 * (entries of one batch may run in different queues once several models are served), or the error.
 */
const StoredEntrySchema = z.object({
  f: z.string(),
  j: z.string().optional(),
  q: z.string().optional(),
  e: z.object({ code: z.string(), message: z.string() }).optional(),
});
const RecordSchema = z.object({
  owner: z.string().optional(),
  createdAt: z.number(),
  entries: z.array(StoredEntrySchema),
});
type BatchRecord = z.infer<typeof RecordSchema>;

export interface BatchStoreOptions {
  /** How long a batch (its record and its parent job) is kept, seconds: as long as its longest-kept job. */
  keepSeconds: number;
}

/** A batch accepted now, or the one an earlier submission with the same Idempotency-Key created. */
export interface CreatedBatch {
  view: BatchView;
  replayed: boolean;
}

/**
 * Batches as BullMQ flows: a parent job in the batch queue whose children are the images' jobs.
 * BullMQ moves the parent on once every child has completed or failed (children ignore their
 * own failure as a dependency), and the batch finisher completes it: its `completed` event is
 * what batch long-polls wait for. The upload order, filenames and rejected images live in a
 * record beside it, since rejected images have no job.
 */
export class BatchStore {
  private readonly keys: QueueKeys;

  constructor(
    /** The store of a queue that batch entries name (each model's); undefined for a queue no longer served. */
    private readonly jobsIn: (queueName: string | undefined) => JobStore | undefined,
    private readonly queue: Queue,
    private readonly redis: RedisClient,
    private readonly options: BatchStoreOptions,
  ) {
    this.keys = queueKeys(queue.name);
  }

  /**
   * Adds the batch with a job per accepted entry (their crops are already stored), all at once
   * in one flow, in the queue of `jobs` (one model per batch); with a webhook, the batch is the
   * child of its delivery job. The jobs are admitted under MAX_QUEUE_DEPTH
   * together, atomically. With SUBMIT_DURABLE_REPLICAS the answer waits for the replicas, as a
   * single job's does. With an Idempotency-Key, a batch the key already created is returned instead
   * (its crops stored for this upload are discarded), acknowledged on the same durable terms.
   */
  async create(
    id: string,
    entries: readonly BatchEntry[],
    submission: Submission,
    jobs: JobStore,
  ): Promise<CreatedBatch> {
    if (submission.idempotencyKey !== undefined) {
      const earlier = await this.claim(id, submission, submission.idempotencyKey);
      if (earlier) {
        await jobs.discardInputs(entries.flatMap((e) => ('jobId' in e ? [e.jobId] : [])));
        await jobs.replicated({ kind: 'batch', id: earlier.id });
        return { view: earlier, replayed: true };
      }
    }
    const record: BatchRecord = {
      owner: submission.owner,
      createdAt: Date.now(),
      entries: entries.map((e) =>
        'jobId' in e ? { f: e.filename, j: e.jobId, q: jobs.queueName } : { f: e.filename, e: e.error },
      ),
    };
    const key = this.keys.batchRecord(id);
    // The record first: once the flow exists, a read of the batch finds its entries.
    await redisCall('batch', () => this.redis.set(key, JSON.stringify(record), 'EX', this.options.keepSeconds));
    const accepted = entries.flatMap((e) => ('jobId' in e ? [e] : []));
    const batch = { id, queueName: this.queue.name, keepSeconds: this.options.keepSeconds, entries: accepted };
    try {
      await jobs.submitBatch(batch, submission);
    } catch (err) {
      await this.redis.del(key).catch(() => undefined);
      throw err;
    }
    await jobs.replicated({ kind: 'batch', id });
    return { view: this.view(id, record, { state: 'waiting-children', done: 0, failed: 0 }), replayed: false };
  }

  /**
   * Claims the Idempotency-Key for batch `id` (SET NX); when an earlier batch holds it, that batch.
   * A claim whose batch never came to exist (its submission failed, or it expired) is taken over.
   */
  private async claim(id: string, submission: Submission, key: string): Promise<BatchView | undefined> {
    const claim = this.keys.idempotency(idempotencyDigest(submission, key));
    return redisCall('batch', async () => {
      if ((await this.redis.set(claim, id, 'EX', this.options.keepSeconds, 'NX')) === 'OK') return undefined;
      const earlierId = await this.redis.get(claim);
      const earlier = earlierId ? await this.get(earlierId, submission.owner) : undefined;
      if (!earlier) await this.redis.set(claim, id, 'EX', this.options.keepSeconds);
      return earlier;
    });
  }

  /** The batch's progress, or undefined when the ID is malformed, unknown, expired or not the caller's. */
  async get(id: string, owner?: string): Promise<BatchView | undefined> {
    const record = await this.record(id, owner);
    if (!record) return undefined;
    return redisCall('batch', async () => {
      const state = await this.queue.getJobState(id);
      const parent = await Job.fromId(this.queue, id);
      if (state === 'unknown' || !parent) return undefined;
      const counts = await parent.getDependenciesCount();
      return this.view(id, record, {
        state,
        done: counts.processed ?? 0,
        failed: (counts.ignored ?? 0) + (counts.failed ?? 0),
        finishedOn: parent.finishedOn,
      });
    });
  }

  /** Each image's line in upload order, read one job at a time as the response is written. */
  async *results(id: string, owner?: string): AsyncGenerator<BatchEntryView> {
    const record = await this.record(id, owner);
    if (!record) throw notFound('batch', id);
    for (const [index, entry] of record.entries.entries()) {
      if (entry.e || !entry.j) {
        yield { index, filename: entry.f, status: 'failed', error: entry.e };
        continue;
      }
      const view = await this.jobsIn(entry.q)?.get(entry.j, owner);
      if (!view)
        yield {
          index,
          filename: entry.f,
          id: entry.j,
          status: 'failed',
          error: { code: 'not_found', message: 'the job has expired' },
        };
      else yield { index, filename: entry.f, id: entry.j, status: view.status, result: view.result, error: view.error };
    }
  }

  /** Exists (or not) for the caller: checked before a long-poll or a results stream starts. */
  async exists(id: string, owner?: string): Promise<boolean> {
    return (await this.record(id, owner)) !== undefined;
  }

  private async record(id: string, owner?: string): Promise<BatchRecord | undefined> {
    if (!BatchIdSchema.safeParse(id).success) return undefined;
    const raw = await redisCall('batch', () => this.redis.get(this.keys.batchRecord(id)));
    if (!raw) return undefined;
    const record = RecordSchema.parse(JSON.parse(raw));
    return record.owner === owner ? record : undefined;
  }

  private view(
    id: string,
    record: BatchRecord,
    progress: { state: string; done: number; failed: number; finishedOn?: number },
  ): BatchView {
    const rejected = record.entries.filter((e) => !e.j).length;
    const finished = progress.state === 'completed';
    const links = { self: `/batches/${id}`, wait: `/batches/${id}/wait`, results: `/batches/${id}/results` };
    const total = record.entries.length;
    return {
      id,
      status: finished ? 'completed' : progress.done + progress.failed > 0 ? 'active' : 'queued',
      total,
      completed: progress.done,
      // Once finished, every image that did not complete failed: a job cancelled with DELETE
      // leaves its parent without a trace, so the parent's own tally would miss it.
      failed: finished ? total - progress.done : progress.failed + rejected,
      createdAt: new Date(record.createdAt).toISOString(),
      finishedAt: finished && progress.finishedOn ? new Date(progress.finishedOn).toISOString() : undefined,
      links,
    };
  }
}
