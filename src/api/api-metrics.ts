import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { queueDepthStates } from './job-store.js';
import type { ModelCatalog } from './model-catalog.js';

/** The API process's Prometheus metrics. The worker's (batches, inference, job outcomes) are its own. */
export interface ApiMetrics {
  readonly registry: Registry;
  /** Labels: method, route (the router's pattern, never the raw path), status. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /** Labels: method, route. Long-polls count their whole wait. */
  readonly httpRequestSeconds: Histogram<'method' | 'route'>;
}

/**
 * A private registry (not prom-client's global one, so two apps in one process, as in tests,
 * never collide) with process default metrics, HTTP metrics and queue depth. Queue depth is read
 * from Redis at scrape time, so every API replica reports the same numbers without keeping state.
 */
export function createApiMetrics(catalog: Pick<ModelCatalog, 'models'>, log: Logger): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'resnet_model_info',
    help:
      'The models this API preprocesses for (always 1 each): name and precision ' +
      '(fp32, int8, or unknown without the model file).',
    labelNames: ['model', 'precision'] as const,
    registers: [registry],
    async collect() {
      for (const model of catalog.models)
        this.set({ model: model.name, precision: (await model.precision) ?? 'unknown' }, 1);
    },
  });
  const httpRequests = new Counter({
    name: 'resnet_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpRequestSeconds = new Histogram({
    name: 'resnet_http_request_duration_seconds',
    help: 'Time from request to response, by method and route pattern (long-polls included), seconds.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'resnet_queue_jobs',
    help:
      "Jobs in each model's queue by state (waiting, active, delayed for a retry, failed and kept), " +
      'read at scrape time.',
    labelNames: ['queue', 'model', 'state'] as const,
    registers: [registry],
    async collect() {
      try {
        const all = await Promise.all(catalog.models.map((m) => m.store.jobCounts(queueDepthStates)));
        catalog.models.forEach((model, i) => {
          for (const state of queueDepthStates)
            this.set({ queue: model.store.queueName, model: model.name, state }, all[i]![state]);
        });
      } catch (err) {
        // Redis is down: report no depth rather than a stale one, and keep the process metrics scrapeable.
        this.reset();
        log.warn({ err }, 'queue depth unavailable for /metrics');
      }
    },
  });
  return { registry, httpRequests, httpRequestSeconds };
}
