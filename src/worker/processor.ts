import type { Job, Processor } from 'bullmq';
import type { Logger } from '../logger.js';
import type { Tracing } from '../telemetry.js';
import type { Classifier } from '../model/classifier.js';
import { decodeCrop } from '../model/preprocess.js';
import type { InputStore } from '../queue/input-store.js';
import { z } from 'zod';
import { jobFailureError, JobFailureSchema, type JobFailure } from '../queue/job-failure.js';
import { JobDataSchema, JobResultSchema, type JobData, type JobResult } from '../queue/job-schemas.js';
import type { MicroBatcher } from './batcher.js';

/** What the batcher hands back for one image. */
export interface BatchOutput {
  logits: Float32Array;
  batchSize: number;
  inferenceMs: number;
  /** When the forward pass started and ended, epoch ms. */
  startedAt: number;
  endedAt: number;
}

/** A final outcome as InputStore.finish keeps it. */
const OutcomeSchema = z.union([z.object({ result: JobResultSchema }), z.object({ failure: JobFailureSchema })]);

/** A typed failure on its way out of the processor. */
class Failed extends Error {
  constructor(readonly failure: JobFailure) {
    super(failure.message);
  }
}

/**
 * One job: fetch its stored crop, decode it, and await its slot in the next batch. Many of these
 * run at once (worker concurrency), which is what lets the batcher see several jobs together.
 * Problems with the job itself are not retried; inference errors are. When the outcome is final
 * (a result, or a failure with no retry left) the stored input is replaced by that outcome before
 * the processor returns, so by the time BullMQ records the terminal state, and anyone hears of it,
 * the input is gone; a re-run (BullMQ lost the lock before it could record the state) replays it.
 */
export function createProcessor(
  inputs: InputStore,
  classifier: Classifier,
  batcher: MicroBatcher<Uint8Array, BatchOutput>,
  log: Logger,
  tracing?: Pick<Tracing, 'setAttributes'>,
): Processor<JobData, JobResult> {
  const size = classifier.manifest.inputSize;

  const run = async (job: Job<JobData, JobResult>): Promise<JobResult> => {
    const pickedUpAt = Date.now();
    const data = JobDataSchema.safeParse(job.data);
    if (!data.success)
      throw new Failed({
        code: 'invalid_request',
        message: 'job data does not match the job schema',
        retryable: false,
      });
    const { deadlineAt } = data.data;
    if (deadlineAt !== undefined && Date.now() > deadlineAt) {
      throw new Failed({
        code: 'expired',
        message: `the deadline ${new Date(deadlineAt).toISOString()} passed before the job started`,
        retryable: false,
      });
    }
    const stored = await inputs.get(job.id!);
    if (!stored)
      throw new Failed({
        code: 'input_missing',
        message: 'the stored input expired or was deleted before the job ran',
        retryable: false,
      });
    const pixels = await decodeCrop(stored, size).catch((err: unknown) => {
      log.warn({ err, jobId: job.id }, 'stored input is unusable');
      throw new Failed({ code: 'invalid_request', message: 'the stored input is unusable', retryable: false });
    });
    const inputAt = Date.now();
    const out = await batcher.enqueue(pixels).catch((err: unknown) => {
      // ONNX Runtime's text is for the log; the client learns only that inference failed.
      log.error({ err, jobId: job.id }, 'inference failed');
      throw new Failed({
        code: 'inference_failed',
        message: 'the model failed on the batch this job ran in',
        retryable: true,
      });
    });
    // On the job's `process` span (BullMQ runs the processor inside it): which batch it rode in.
    tracing?.setAttributes({ 'resnet.batch_size': out.batchSize, 'resnet.inference_ms': Math.round(out.inferenceMs) });
    return {
      model: classifier.manifest.name,
      precision: classifier.precision,
      predictions: classifier.predictions(out.logits, data.data.topk),
      logits: data.data.logits ? Array.from(out.logits) : undefined,
      batchSize: out.batchSize,
      inferenceMs: out.inferenceMs,
      marks: { pickedUpAt, inputAt, batchStartAt: out.startedAt, batchEndAt: out.endedAt },
    };
  };

  // Awaited, so it comes before the state change; if Redis refuses it, the sweep removes the input later.
  const finish = (job: Job, outcome: z.infer<typeof OutcomeSchema>) =>
    inputs
      .finish(job.id!, JSON.stringify(outcome))
      .catch((err: unknown) => log.warn({ err, jobId: job.id }, 'input deletion failed; the sweep will remove it'));

  return async (job) => {
    // Only a job started before can have a kept outcome: its first run skips the read (a round trip per job).
    const startedBefore = job.attemptsStarted > 1 || job.attemptsMade > 0 || job.stalledCounter > 0;
    const kept = startedBefore ? await inputs.outcome(job.id!) : null;
    const replay = kept === null ? undefined : OutcomeSchema.safeParse(JSON.parse(kept));
    if (replay?.success) {
      log.info({ jobId: job.id }, 'job finished before its state could be recorded; replaying its outcome');
      if ('result' in replay.data) return replay.data.result;
      throw jobFailureError({ ...replay.data.failure, retryable: false });
    }
    let result: JobResult;
    try {
      result = await run(job);
    } catch (err) {
      if (!(err instanceof Failed)) log.error({ err, jobId: job.id }, 'job failed unexpectedly');
      const failure: JobFailure =
        err instanceof Failed
          ? err.failure
          : { code: 'internal', message: 'the job failed unexpectedly', retryable: true };
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!failure.retryable || lastAttempt) await finish(job, { failure });
      throw jobFailureError(failure);
    }
    await finish(job, { result });
    return result;
  };
}
