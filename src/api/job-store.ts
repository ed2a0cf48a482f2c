import { randomUUID } from 'node:crypto';
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { inputKey, JobIdSchema, jobName, type JobData, type JobResult } from '../jobs.js';
import type { PreparedImage } from '../model/preprocess.js';
import { toJobView, type JobView } from './job-view.js';

/** Seconds a client should wait before retrying while Redis is unreachable. */
const retryAfterSeconds = 5;

/** Redis failures on a request path become a 503 with Retry-After, never a hang or a 500. */
async function redisCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('unavailable', `the job store is unavailable (${what}); retry shortly`, { 'Retry-After': String(retryAfterSeconds) });
  }
}

/**
 * The states reported as queue depth: waiting for a worker, held by one, waiting out a retry
 * backoff, and failed (kept FAILED_TTL_SECONDS for a retry).
 */
export const queueDepthStates = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueDepthState = (typeof queueDepthStates)[number];

export interface JobStoreOptions {
  queueName: string;
  /** Lifetime of a stored input: it must outlive the longest a job may wait in the queue. */
  inputTtlSeconds: number;
}

/** Submits jobs and reads them back as JobViews; the API's only path to the queue. */
export class JobStore {
  constructor(
    private readonly queue: Queue<JobData, JobResult>,
    private readonly redis: Redis,
    private readonly options: JobStoreOptions,
  ) {}

  /**
   * Stores the crop, then adds the job. If the add fails the crop is deleted (best effort; its
   * TTL bounds it otherwise), so an answered 202 always means a job exists.
   */
  async submit(image: PreparedImage, topk: number): Promise<JobView> {
    const id = randomUUID();
    const key = inputKey(this.options.queueName, id);
    const data: JobData = { topk, input: { width: image.width, height: image.height }, source: image.source };
    return redisCall('submit', async () => {
      await this.redis.set(key, image.png, 'EX', this.options.inputTtlSeconds);
      try {
        const job = await this.queue.add(jobName, data, { jobId: id });
        return toJobView(job, 'waiting');
      } catch (err) {
        await this.redis.del(key).catch(() => undefined);
        throw err;
      }
    });
  }

  /** The job's current view, or undefined when the ID is malformed, unknown or expired. */
  async get(id: string): Promise<JobView | undefined> {
    if (!JobIdSchema.safeParse(id).success) return undefined;
    return redisCall('read', async () => {
      // State first: a job read after its state can only be further along, never behind it.
      const state = await this.queue.getJobState(id);
      if (state === 'unknown') return undefined;
      const job = await Job.fromId<JobData, JobResult>(this.queue, id);
      return job && toJobView(job, state);
    });
  }

  /** How many jobs are in each of these states right now (for the queue-depth metric). */
  jobCounts(): Promise<Record<QueueDepthState, number>> {
    return redisCall('counts', async () => {
      const counts = await this.queue.getJobCounts(...queueDepthStates);
      return Object.fromEntries(queueDepthStates.map((s) => [s, counts[s] ?? 0])) as Record<QueueDepthState, number>;
    });
  }

  /** Live workers on the queue; a worker connects only after its model has loaded. */
  workerCount(): Promise<number> {
    return redisCall('workers', () => this.queue.getWorkersCount());
  }
}
