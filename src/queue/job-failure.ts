import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { isErrorCode, type ErrorCode } from '../errors.js';

/** Codes a job may fail with; each is in the error table. */
export const jobFailureCodes = [
  'invalid_request',
  'input_missing',
  'expired',
  'cancelled',
  'inference_failed',
  'internal',
] as const satisfies readonly ErrorCode[];

/**
 * Why a job failed. `message` is written for the client (never an ONNX Runtime or Redis text);
 * `retryable` says whether BullMQ may run the job again.
 */
export const JobFailureSchema = z.object({
  code: z.enum(jobFailureCodes),
  message: z.string(),
  retryable: z.boolean(),
});
export type JobFailure = z.infer<typeof JobFailureSchema>;

/** What a failure reads as when it was not written by `jobFailureError` (a crash, a stall, an older version). */
const unexpected: JobFailure = { code: 'internal', message: 'the job failed unexpectedly', retryable: false };

/**
 * The Error a processor throws for a typed failure. BullMQ keeps only `failedReason` (the
 * message), so the failure travels as JSON in it; a non-retryable one is an UnrecoverableError,
 * which BullMQ fails at once without using the remaining attempts.
 */
export function jobFailureError(failure: JobFailure): Error {
  const message = JSON.stringify(JobFailureSchema.parse(failure));
  return failure.retryable ? new Error(message) : new UnrecoverableError(message);
}

/**
 * The typed failure behind a failedReason; anything else (including old "code: message" strings) is
 * `internal`, its text hidden.
 */
export function parseJobFailure(reason: string | undefined): JobFailure {
  if (!reason?.startsWith('{')) return unexpected;
  try {
    const parsed = JobFailureSchema.safeParse(JSON.parse(reason));
    return parsed.success && isErrorCode(parsed.data.code) ? parsed.data : unexpected;
  } catch {
    return unexpected;
  }
}
