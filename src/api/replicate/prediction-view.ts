import type { JobView } from '../wire.js';
import type { PredictionStatus, ReplicatePrediction } from './wire.js';

/** What a prediction was created with, kept beside its job (the job itself knows neither name). */
export interface PredictionRecord {
  model: string;
  version: string;
  /** The input as shown back: the image as a short description, never its bytes or URL. */
  input: { image: string; topk: number };
}

/** Replicate's states for ours: queued is `starting`, and a job cancelled while queued is `canceled`. */
export function predictionStatus(view: Pick<JobView, 'status' | 'error'>): PredictionStatus {
  if (view.status === 'queued') return 'starting';
  if (view.status === 'active') return 'processing';
  if (view.status === 'completed') return 'succeeded';
  return view.error?.code === 'cancelled' ? 'canceled' : 'failed';
}

/**
 * A job as a Replicate prediction. `origin` (`http://host:port`, as the client reached us) makes
 * the URLs absolute, as the SDK needs them. A job submitted through /jobs has no record: its model
 * comes from its result, and its input is not known.
 */
export function toPrediction(view: JobView, record: PredictionRecord | undefined, origin: string): ReplicatePrediction {
  const base = `${origin}/v1/predictions/${view.id}`;
  const started = view.startedAt ? Date.parse(view.startedAt) : undefined;
  const finished = view.finishedAt ? Date.parse(view.finishedAt) : undefined;
  const model = record?.model ?? view.result?.model ?? 'unknown';
  return {
    id: view.id,
    model: `local/${model}`,
    version: record?.version ?? model,
    input: record?.input ?? { image: '(submitted through /jobs)' },
    output: view.result?.predictions ?? null,
    error: view.error ? `${view.error.code}: ${view.error.message}` : null,
    logs: '',
    status: predictionStatus(view),
    source: 'api',
    data_removed: false,
    created_at: view.createdAt,
    started_at: view.startedAt ?? null,
    completed_at: view.finishedAt ?? null,
    metrics:
      started !== undefined && finished !== undefined && view.status === 'completed'
        ? { predict_time: Math.max(0, finished - started) / 1000 }
        : {},
    urls: { get: base, cancel: `${base}/cancel`, stream: `${base}/stream` },
  };
}
