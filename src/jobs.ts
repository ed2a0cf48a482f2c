import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { isErrorCode, type ErrorCode } from './errors.js';

/** BullMQ's default key prefix; input keys live beside the queue's own keys. */
export const keyPrefix = 'bull';
export const jobName = 'classify';

/** Job IDs are random UUIDs: unguessable, and cheap to reject when malformed. */
export const JobIdSchema = z.uuid();

export const TopkSchema = z.coerce.number().int().min(1).max(20);

/**
 * How urgently a job should run: `interactive` (the default: someone is waiting) or `bulk`
 * (background work that yields to interactive jobs).
 */
export const PrioritySchema = z.enum(['interactive', 'bulk']);
export type Priority = z.infer<typeof PrioritySchema>;

/**
 * BullMQ priorities: 0 is "none", and jobs without one sit in the plain wait list, which workers
 * drain before any prioritized job; bulk jobs wait in the prioritized set behind them (in
 * submission order among themselves).
 */
export const bullmqPriority: Record<Priority, number> = { interactive: 0, bulk: 10 };

export const PredictionSchema = z.object({
  label: z.string(),
  classId: z.number().int().min(0),
  probability: z.number().min(0).max(1),
});
export type Prediction = z.infer<typeof PredictionSchema>;

/**
 * What a queued job carries. The preprocessed pixels themselves are not in here: they sit in
 * a binary Redis key (`inputKey`) as a lossless PNG of the model-sized crop, so a job costs
 * that PNG (at most ~150 KB for a 224x224 crop, whatever the upload) instead of base64 floats.
 */
export const JobDataSchema = z.object({
  topk: TopkSchema,
  input: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  source: z.object({
    format: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    bytes: z.number().int().nonnegative(),
  }),
  /** Epoch ms after which the job must not start (it fails with `expired`). */
  deadlineAt: z.number().int().positive().optional(),
  /** Digest prefix of the API key that submitted it; only that key may read or cancel it. */
  owner: z.string().optional(),
});
export type JobData = z.infer<typeof JobDataSchema>;

export const JobResultSchema = z.object({
  model: z.string(),
  predictions: z.array(PredictionSchema),
  batchSize: z.number().int().positive(),
  inferenceMs: z.number().nonnegative(),
});
export type JobResult = z.infer<typeof JobResultSchema>;

export function inputKey(queueName: string, jobId: string): string {
  return `${keyPrefix}:${queueName}:input:${jobId}`;
}

/** Where a cancelled job's final view is kept (the job itself is removed from the queue). */
export function cancelledKey(queueName: string, jobId: string): string {
  return `${keyPrefix}:${queueName}:cancelled:${jobId}`;
}

export function idempotencyKey(queueName: string, digest: string): string {
  return `${keyPrefix}:${queueName}:idempotency:${digest}`;
}

export interface RetentionSeconds {
  resultTtlSeconds: number;
  failedTtlSeconds: number;
}

/**
 * Applied to every job at submit time. Transient failures are retried with backoff; bad input
 * is failed at once by the worker (UnrecoverableError). Finished jobs expire so Redis stays bounded.
 */
export function defaultJobOptions(retention: RetentionSeconds): JobsOptions {
  return {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: retention.resultTtlSeconds },
    removeOnFail: { age: retention.failedTtlSeconds },
  };
}

/**
 * A failed job carries only BullMQ's `failedReason` string, so workers write it as
 * "code: message" with a code from the error table, and readers take it apart again.
 */
export const failureReason = (code: ErrorCode, message: string): string => `${code}: ${message}`;

/** The code and message of a failure reason; anything not written by failureReason is `internal`, its text hidden. */
export function parseFailure(reason: string | undefined): { code: string; message: string } {
  const match = /^([a-z_]+): (.*)$/s.exec(reason ?? '');
  if (match && isErrorCode(match[1]!)) return { code: match[1], message: match[2]! };
  return { code: 'internal', message: 'the job failed unexpectedly' };
}
