import { z } from 'zod';
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
});
export type JobData = z.infer<typeof JobDataSchema>;

/** What a completed job returns (BullMQ's returnvalue). */
export const JobResultSchema = z.object({
  model: z.string(),
  predictions: z.array(PredictionSchema),
  batchSize: z.number().int().positive(),
  inferenceMs: z.number().nonnegative(),
});
export type JobResult = z.infer<typeof JobResultSchema>;
