import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A worker process's Prometheus metrics: what only the process running the model can see. */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** Every metric but the process defaults carries `model`: a worker may serve several. */
  readonly batchSize: Histogram<'model'>;
  readonly batchInferenceSeconds: Histogram<'model'>;
  readonly modelLoadSeconds: Gauge<'model'>;
  /** Always 1; labels model and precision name what this worker serves. */
  readonly modelInfo: Gauge<'model' | 'precision'>;
  readonly jobsCompleted: Counter<'model'>;
  /** Label code: the error code a job ended with (bounded by the error table). */
  readonly jobsFailed: Counter<'model' | 'code'>;
  /** Label code: failed attempts that BullMQ will retry after its backoff. */
  readonly jobRetries: Counter<'model' | 'code'>;
  /** Label status: completed or failed. */
  readonly jobLatencySeconds: Histogram<'model' | 'status'>;
}

/**
 * One bucket per batch size up to 16, so the histogram shows exactly how full batches run; past
 * that, powers of two (and maxBatch itself) keep the series count small.
 */
export function batchSizeBuckets(maxBatch: number): number[] {
  if (maxBatch <= 16) return Array.from({ length: maxBatch }, (_, i) => i + 1);
  const buckets = Array.from({ length: 16 }, (_, i) => i + 1);
  for (let b = 32; b < maxBatch; b *= 2) buckets.push(b);
  return [...buckets, maxBatch];
}

export function createWorkerMetrics(maxBatch: number): WorkerMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    batchSize: new Histogram({
      name: 'resnet_batch_size',
      help: 'Images per forward pass.',
      labelNames: ['model'] as const,
      buckets: batchSizeBuckets(maxBatch),
      registers,
    }),
    batchInferenceSeconds: new Histogram({
      name: 'resnet_batch_inference_seconds',
      help: 'Wall time of one forward pass (session.run over the whole batch), seconds.',
      labelNames: ['model'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5],
      registers,
    }),
    modelLoadSeconds: new Gauge({
      name: 'resnet_model_load_seconds',
      help: 'Time this process took to load the model and run its warm-up pass, seconds.',
      labelNames: ['model'] as const,
      registers,
    }),
    modelInfo: new Gauge({
      name: 'resnet_model_info',
      help: 'The models this process serves (always 1 each): name and precision (fp32 or int8).',
      labelNames: ['model', 'precision'] as const,
      registers,
    }),
    jobsCompleted: new Counter({
      name: 'resnet_jobs_completed_total',
      help: 'Jobs this worker completed.',
      labelNames: ['model'] as const,
      registers,
    }),
    jobsFailed: new Counter({
      name: 'resnet_jobs_failed_total',
      help: 'Jobs that ended failed on this worker (no retry left), by error code.',
      labelNames: ['model', 'code'] as const,
      registers,
    }),
    jobRetries: new Counter({
      name: 'resnet_job_retries_total',
      help: 'Failed attempts that will be retried, by error code.',
      labelNames: ['model', 'code'] as const,
      registers,
    }),
    jobLatencySeconds: new Histogram({
      name: 'resnet_job_latency_seconds',
      help: "End-to-end job latency, from submission (the API host's clock) to the end of its last attempt, seconds.",
      labelNames: ['model', 'status'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers,
    }),
  };
}
