import type { Job, JobState } from 'bullmq';
import { z } from 'zod';
import { JobResultSchema, parseFailure, PredictionSchema, type JobData, type JobResult } from '../jobs.js';

export const JobStatusSchema = z.enum(['queued', 'active', 'completed', 'failed']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** The representation of a job that every /jobs endpoint returns. */
export const JobViewSchema = z.object({
  id: z.string(),
  status: JobStatusSchema,
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  /** How many images shared the forward pass this job ran in. */
  batchSize: z.number().int().positive().optional(),
  result: z.object({ model: z.string(), predictions: z.array(PredictionSchema) }).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  links: z.object({ self: z.string(), wait: z.string() }),
});
export type JobView = z.infer<typeof JobViewSchema>;

export const isTerminal = (status: JobStatus): boolean => status === 'completed' || status === 'failed';

function toStatus(state: JobState | 'unknown'): JobStatus {
  if (state === 'active') return 'active';
  if (state === 'completed' || state === 'failed') return state;
  return 'queued';
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

export function toJobView(job: Job<JobData, JobResult>, state: JobState | 'unknown'): JobView {
  const id = job.id!;
  const status = toStatus(state);
  const result = status === 'completed' ? JobResultSchema.parse(job.returnvalue) : undefined;
  return {
    id,
    status,
    createdAt: iso(job.timestamp)!,
    startedAt: iso(job.processedOn),
    finishedAt: status === 'completed' || status === 'failed' ? iso(job.finishedOn) : undefined,
    batchSize: result?.batchSize,
    result: result && { model: result.model, predictions: result.predictions },
    error: status === 'failed' ? parseFailure(job.failedReason) : undefined,
    links: { self: `/jobs/${id}`, wait: `/jobs/${id}/wait` },
  };
}
