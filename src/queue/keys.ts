import type { JobsOptions } from 'bullmq';

/**
 * Every Redis key of the job contract, and every lifetime, in one place. Keys live beside
 * BullMQ's own under its default prefix, so one `bull:<queue>:*` pattern covers a queue.
 */
export const keyPrefix = 'bull';

/**
 * The queue of one model: QUEUE_NAME (or its Cluster hash tag, which the name keeps, so every
 * model's queue, the batch queue and the webhook queue share a slot as flows require) plus the
 * model's name.
 */
export const modelQueueName = (namespace: string, model: string): string => `${namespace}-model-${model}`;

/** The batch queue of a deployment: its jobs are the batches' parents, finished by the batch finisher. */
export const batchQueueName = (namespace: string): string => `${namespace}-batches`;

export interface QueueKeys {
  /** The stored input of a job (InputStore): opaque bytes. */
  input(jobId: string): string;
  /**
   * A job's final outcome (its result or failure as JSON), written in the MULTI that deletes its
   * input, so a re-run after a lost lock can replay it instead of finding no input.
   */
  outcome(jobId: string): string;
  /** The SCAN pattern matching every input and outcome key of the queue. */
  readonly inputPattern: string;
  /** BullMQ's hash of a job (exists while the job does). */
  job(jobId: string): string;
  /** BullMQ's sorted sets of finished jobs. */
  readonly completed: string;
  readonly failed: string;
  /** Where a cancelled job's final view is kept (the job itself is removed from the queue). */
  cancelled(jobId: string): string;
  /** Idempotency-Key claims, by digest of the caller's scope and key (of jobs, or in the batch queue, of batches). */
  idempotency(digest: string): string;
  /** A batch's record (its entries in upload order, their jobs and rejections); batch queue keys. */
  batchRecord(batchId: string): string;
  /** Sorted set of queue-depth reservations: jobs admitted under MAX_QUEUE_DEPTH but not yet added. */
  readonly admissions: string;
  /** Prefix of the per-client request counters of RATE_LIMIT_PER_MINUTE (rate-limiter-flexible adds the client). */
  readonly rateLimits: string;
  /** Prefix of the per-address failed-authentication counters (rate-limiter-flexible adds the address). */
  readonly authFailures: string;
  /** Sorted set of live workers with a loaded model, scored by when their announcement expires (epoch ms). */
  readonly workers: string;
  /** Which model (queue) a job ID belongs to; kept in the namespace's keys (QUEUE_NAME), not a model queue's. */
  jobModel(jobId: string): string;
  /** What a Replicate-style prediction was created with (model, version, input), beside its job; namespace keys. */
  prediction(jobId: string): string;
  /** The predictions one caller (key, else address) created, as `<epoch ms>:<job id>` members; namespace keys. */
  predictions(scope: string): string;
  /** A file uploaded through POST /v1/files: a hash of its bytes and its metadata; namespace keys. */
  file(fileId: string): string;
  /** The live files of one key (or of the open API), scored by expiry (epoch ms): what bounds their number. */
  files(scope: string): string;
}

export function queueKeys(queueName: string): QueueKeys {
  const base = `${keyPrefix}:${queueName}`;
  return {
    input: (jobId) => `${base}:input:${jobId}`,
    outcome: (jobId) => `${base}:input-outcome:${jobId}`,
    inputPattern: `${base}:input*`,
    job: (jobId) => `${base}:${jobId}`,
    completed: `${base}:completed`,
    failed: `${base}:failed`,
    cancelled: (jobId) => `${base}:cancelled:${jobId}`,
    idempotency: (digest) => `${base}:idempotency:${digest}`,
    batchRecord: (batchId) => `${base}:record:${batchId}`,
    admissions: `${base}:admissions`,
    rateLimits: `${base}:ratelimit`,
    authFailures: `${base}:auth-failures`,
    workers: `${base}:live-workers`,
    jobModel: (jobId) => `${base}:job-model:${jobId}`,
    prediction: (jobId) => `${base}:prediction:${jobId}`,
    predictions: (scope) => `${base}:predictions:${scope}`,
    file: (fileId) => `${base}:file:${fileId}`,
    files: (scope) => `${base}:files:${scope}`,
  };
}

/** How long things are kept, seconds (from RESULT_TTL_SECONDS and FAILED_TTL_SECONDS). */
export interface RetentionSeconds {
  /** Completed jobs, cancelled-job records and idempotency keys. */
  resultTtlSeconds: number;
  /** Failed jobs; also the upper bound of a stored input's life (it must outlive the longest wait in the queue). */
  failedTtlSeconds: number;
}

/** Lifetime of a stored input: a backstop only, the input is deleted when its job finishes. */
export const inputTtlSeconds = (retention: RetentionSeconds): number => retention.failedTtlSeconds;

/** Attempts per job: transient failures (inference) are retried, bad input never is. */
export const jobAttempts = 3;

/**
 * Applied to every job at submit time. Transient failures are retried with backoff; bad input
 * is failed at once by the worker (UnrecoverableError). Finished jobs expire so Redis stays bounded.
 */
export function defaultJobOptions(retention: RetentionSeconds): JobsOptions {
  return {
    attempts: jobAttempts,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: retention.resultTtlSeconds },
    removeOnFail: { age: retention.failedTtlSeconds },
  };
}
