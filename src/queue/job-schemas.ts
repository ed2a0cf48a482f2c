import { z } from 'zod';
import { precisions } from '../model/precision.js';
import { PredictionSchema } from '../model/prediction.js';

/** The BullMQ job name of every classification job. */
export const jobName = 'classify';

/** Job IDs are random UUIDs: unguessable, and cheap to reject when malformed. */
export const JobIdSchema = z.uuid();

/** How many classes a job returns. */
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

/**
 * What a queued job carries. The preprocessed pixels themselves are not in here: they sit in the
 * InputStore (one binary Redis key per job), so the job hash stays small whatever the upload.
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
  /** Return the model's whole output (the logits) beside the top-k: what /v2 infer answers with. */
  logits: z.boolean().optional(),
});
export type JobData = z.infer<typeof JobDataSchema>;

/** What a completed job returns (BullMQ's returnvalue). */
export const JobResultSchema = z.object({
  model: z.string(),
  /** Optional only for results written before workers reported it. */
  precision: z.enum(precisions).optional(),
  predictions: z.array(PredictionSchema),
  /** The model's raw output for this image, when the job asked for it (JobData.logits). */
  logits: z.array(z.number()).optional(),
  batchSize: z.number().int().positive(),
  inferenceMs: z.number().nonnegative(),
  /**
   * Worker-side marks, epoch ms on the worker's clock, for the per-stage latency breakdown
   * (`npm run bench`): the processor started, the crop was read and handed to the batcher, its
   * batch started and ended. With BullMQ's own timestamps (added, processedOn, finishedOn) they
   * split the time between enqueue and result.
   */
  marks: z
    .object({ pickedUpAt: z.number(), inputAt: z.number(), batchStartAt: z.number(), batchEndAt: z.number() })
    .optional(),
});
export type JobResult = z.infer<typeof JobResultSchema>;
