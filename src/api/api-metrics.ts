import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { reportedJobStates } from '../queue/queue-depth.js';
import type { QueueSnapshot } from '../queue/queue-signals.js';
import type { ModelCatalog } from '../jobs/index.js';

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
export function createApiMetrics(
  catalog: Pick<ModelCatalog, 'models'>,
  maxQueueDepth: number,
  log: Logger,
): ApiMetrics {
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
  queueGauges(registry, catalog, maxQueueDepth, log);
  return { registry, httpRequests, httpRequestSeconds };
}

/**
 * The queue signals an operator or an autoscaler reads (docs/operations.md), each labelled by queue
 * and model: depth by state, the oldest waiting job's age, depth against MAX_QUEUE_DEPTH, paused, and
 * live workers. With Redis down they report nothing rather than stale numbers, and the process
 * metrics stay scrapeable.
 */
function queueGauges(
  registry: Registry,
  catalog: Pick<ModelCatalog, 'models'>,
  maxQueueDepth: number,
  log: Logger,
): void {
  // One read per scrape: prom-client starts every collect() at once, in registration order, so the
  // first gauge reads and the others share its snapshot.
  let latest: Promise<QueueSnapshot[]> | undefined;
  const read = () => (latest = Promise.all(catalog.models.map((m) => m.signals.read())));
  const labelNames = ['queue', 'model'] as const;
  const gauge = <L extends string>(
    first: boolean,
    name: string,
    help: string,
    extraLabels: readonly L[],
    set: (gauge: Gauge<'queue' | 'model' | L>, labels: Record<'queue' | 'model', string>, s: QueueSnapshot) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: [...labelNames, ...extraLabels],
      registers: [registry],
      async collect() {
        try {
          const all = await (first || !latest ? read() : latest);
          this.reset();
          catalog.models.forEach((model, i) => set(this, { queue: model.store.queueName, model: model.name }, all[i]!));
        } catch (err) {
          this.reset();
          log.warn({ err, metric: name }, 'queue signals unavailable for /metrics');
        }
      },
    });
  gauge(
    true,
    'resnet_queue_jobs',
    "Jobs in each model's queue by state, read at scrape time: waiting (interactive), prioritized (bulk), " +
      'delayed (a retry backoff), active, and failed (kept for a retry). Queue depth is the sum of all but failed.',
    ['state'],
    (g, labels, s) => {
      for (const state of reportedJobStates) g.set({ ...labels, state }, s.counts[state]);
    },
  );
  gauge(
    false,
    'resnet_queue_oldest_waiting_seconds',
    'Age of the oldest job waiting for a worker (waiting or prioritized), seconds since its submission; 0 when none.',
    [],
    (g, labels, s) => g.set(labels, s.oldestWaitingSeconds),
  );
  if (maxQueueDepth > 0)
    gauge(
      false,
      'resnet_queue_capacity_ratio',
      'Queue depth / MAX_QUEUE_DEPTH: at 1, submissions to the model get 429 queue_full.',
      [],
      (g, labels, s) => g.set(labels, s.depth / maxQueueDepth),
    );
  gauge(
    false,
    'resnet_queue_paused',
    '1 while the queue is paused (Bull Board): jobs are accepted and kept, none runs.',
    [],
    (g, labels, s) => g.set(labels, s.paused ? 1 : 0),
  );
  gauge(false, 'resnet_queue_workers', 'Live workers that have announced the model loaded.', [], (g, labels, s) =>
    g.set(labels, s.workers),
  );
}
