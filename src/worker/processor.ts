import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { failureReason, inputKey, JobDataSchema, type JobData, type JobResult } from '../jobs.js';
import type { Classifier } from '../model/classifier.js';
import { decodeCrop } from '../model/preprocess.js';
import type { MicroBatcher } from './batcher.js';

/** What the batcher hands back for one image. */
export interface BatchOutput {
  logits: Float32Array;
  batchSize: number;
  inferenceMs: number;
}


/**
 * One job: fetch its stored crop, decode it, and await its slot in the next batch. Many of these
 * run at once (worker concurrency), which is what lets the batcher see several jobs together.
 * Problems with the job itself are unrecoverable (no retry); inference errors are retried.
 */
export function createProcessor(
  queueName: string,
  redis: Redis,
  classifier: Classifier,
  batcher: MicroBatcher<Uint8Array, BatchOutput>,
): Processor<JobData, JobResult> {
  const size = classifier.manifest.inputSize;
  return async (job: Job<JobData, JobResult>) => {
    const data = JobDataSchema.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(failureReason('invalid_request', 'job data does not match the job schema'));
    const { deadlineAt } = data.data;
    if (deadlineAt !== undefined && Date.now() > deadlineAt) {
      throw new UnrecoverableError(failureReason('expired', `the deadline ${new Date(deadlineAt).toISOString()} passed before the job started`));
    }
    const png = await redis.getBuffer(inputKey(queueName, job.id!));
    if (!png) throw new UnrecoverableError(failureReason('input_missing', 'the stored input expired or was deleted before the job ran'));
    const pixels = await decodeCrop(png, size).catch((err: unknown) => {
      throw new UnrecoverableError(failureReason('invalid_request', `stored input is unusable: ${(err as Error).message}`));
    });
    const out = await batcher.enqueue(pixels).catch((err: unknown) => {
      throw new Error(failureReason('inference_failed', (err as Error).message));
    });
    return {
      model: classifier.manifest.name,
      predictions: classifier.predictions(out.logits, data.data.topk),
      batchSize: out.batchSize,
      inferenceMs: out.inferenceMs,
    };
  };
}
