import type { Job, JobState } from 'bullmq';
import { parseJobFailure } from '../queue/job-failure.js';
import { JobResultSchema, type JobData, type JobResult } from '../queue/job-schemas.js';
import type { JobStatus, JobView } from '../api/wire.js';

function toStatus(state: JobState | 'unknown'): JobStatus {
  if (state === 'active') return 'active';
  if (state === 'completed' || state === 'failed') return state;
  return 'queued';
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

/** What a view is made of: a BullMQ Job has these, and so does a job hash read straight from Redis (readJobHash). */
export type ViewedJob = Pick<
  Job<JobData, JobResult>,
  'id' | 'timestamp' | 'processedOn' | 'finishedOn' | 'failedReason'
> & {
  returnvalue: unknown;
};

/**
 * The fields of BullMQ's job hash (HGETALL of the job's key) that a view needs, and the job's
 * owner; undefined for an empty hash (no such job).
 */
export function readJobHash(
  id: string,
  hash: Record<string, string>,
): { job: ViewedJob; owner: string | undefined } | undefined {
  if (hash['timestamp'] === undefined) return undefined;
  const ms = (field: string) => (hash[field] ? Number(hash[field]) : undefined);
  const data = JSON.parse(hash['data'] ?? '{}') as Partial<JobData>;
  return {
    job: {
      id,
      timestamp: Number(hash['timestamp']),
      processedOn: ms('processedOn'),
      finishedOn: ms('finishedOn'),
      failedReason: hash['failedReason'] ?? '',
      returnvalue: parseReturnValue(hash['returnvalue']),
    },
    owner: data.owner,
  };
}

/** As BullMQ reads a return value: JSON when it is, else the text itself. */
function parseReturnValue(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A BullMQ job as the API shows it (wire.ts's JobView). */
export function toJobView(job: ViewedJob, state: JobState | 'unknown'): JobView {
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
