import type { Telemetry } from 'bullmq';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Closable } from './run-main.js';

/** What a role needs from tracing: BullMQ's hook, and a way to annotate the current job's span. */
export interface Tracing {
  /** BullMQ's `telemetry` option (bullmq-otel): carries the trace context through the job. */
  bullmq: Telemetry;
  /** Sets attributes on the active span (inside a worker's processor: the job's `process` span). */
  setAttributes(attributes: Record<string, string | number>): void;
  /** Flushes spans not yet exported, then stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set; undefined otherwise. Every
 * OpenTelemetry package is imported here, dynamically: with tracing off none of them is loaded.
 *
 * Must run before ioredis and node:http are first loaded (the instrumentations patch them on load),
 * so entry points import the modules that use them only after this resolves (see startTraced).
 * One trace per job: the http instrumentation opens a span per request; the queue's `add` span is
 * its child; bullmq-otel stores that context in the job, and the worker's `process` span continues
 * it, so the API's and the worker's spans of one job share one trace id.
 */
export async function startTracing(
  config: Config['telemetry'],
  role: string,
  log: Logger,
): Promise<Tracing | undefined> {
  if (!config.otlpEndpoint) return undefined;
  const [{ NodeSDK }, { OTLPTraceExporter }, { HttpInstrumentation }, { IORedisInstrumentation }, { BullMQOtel }, api] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-ioredis'),
      import('bullmq-otel'),
      import('@opentelemetry/api'),
    ]);
  // ioredis is CommonJS imported from ES modules, which bypasses require(): the instrumentations
  // see it load only through this loader hook (import-in-the-middle).
  const { register } = await import('node:module');
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const serviceName = config.serviceName ?? `resnet-queue-${role}`;
  const sdk = new NodeSDK({
    serviceName,
    traceExporter: new OTLPTraceExporter({ url: new URL('v1/traces', withSlash(config.otlpEndpoint)).href }),
    instrumentations: [
      // Our own calls to the collector would otherwise be traced, and their traces exported…
      new HttpInstrumentation({ ignoreOutgoingRequestHook: () => true }),
      // Spans only for commands made inside a trace: BullMQ's background polling stays out.
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  log.info({ endpoint: config.otlpEndpoint, serviceName }, 'tracing on: exporting spans over OTLP/HTTP');
  return {
    bullmq: new BullMQOtel({ tracerName: serviceName }),
    setAttributes: (attributes) => api.trace.getActiveSpan()?.setAttributes(attributes),
    shutdown: () => sdk.shutdown().catch((err: unknown) => log.warn({ err }, 'tracing shutdown failed')),
  };
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/**
 * For entry points: starts tracing (when configured), then `start`, which imports the role's
 * modules dynamically so they load after the instrumentations. Closing the role flushes the spans.
 */
export async function startTraced(
  config: Config,
  role: string,
  log: Logger,
  start: (tracing: Tracing | undefined) => Promise<Closable>,
): Promise<Closable> {
  const tracing = await startTracing(config.telemetry, role, log);
  const running = await start(tracing);
  return {
    ready: running.ready,
    close: async () => {
      await running.close();
      await tracing?.shutdown();
    },
  };
}
