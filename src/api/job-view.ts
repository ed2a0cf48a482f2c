import type { Job, JobState } from 'bullmq';
import { parseJobFailure } from '../queue/job-failure.js';
import { JobResultSchema, type JobData, type JobResult } from '../queue/job-schemas.js';
import type { JobStatus, JobView } from './wire.js';

function toStatus(state: JobState | 'unknown'): JobStatus {
  if (state === 'active') return 'active';
  if (state === 'completed' || state === 'failed') return state;
  return 'queued';
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

/** A BullMQ job as the API shows it (wire.ts's JobView). */
export function toJobView(job: Job<JobData, JobResult>, state: JobState | 'unknown'): JobView {
  const id = job.id!;
  const status = toStatus(state);
  const result = status === 'completed' ? JobResultSchema.parse(job.returnvalue) : undefined;
  const failure = status === 'failed' ? parseJobFailure(job.failedReason) : undefined;
  return {
    id,
    status,
    createdAt: iso(job.timestamp)!,
    startedAt: iso(job.processedOn),
    finishedAt: status === 'completed' || status === 'failed' ? iso(job.finishedOn) : undefined,
    batchSize: result?.batchSize,
    result: result && {
      model: result.model,
      precision: result.precision,
      predictions: result.predictions,
      logits: result.logits,
    },
    error: failure && { code: failure.code, message: failure.message },
    links: { self: `/jobs/${id}`, wait: `/jobs/${id}/wait` },
  };
}
