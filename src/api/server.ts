import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import type { Config } from '../config.js';
import { hasCredentials } from '../credentials.js';
import { defaultJobOptions, keyPrefix, type JobData, type JobResult } from '../jobs.js';
import type { Logger } from '../logger.js';
import { loadManifest, type Manifest } from '../model/manifest.js';
import { connectRedis } from '../redis.js';
import { createApiMetrics } from './api-metrics.js';
import { createApp } from './app.js';
import { AuthFailures } from './auth-failures.js';
import { dashboardPath } from './dashboard.js';
import type { ApiDeps } from './deps.js';
import { JobStore } from './job-store.js';
import { JobWaiter } from './job-waiter.js';

export interface RunningApi {
  port: number;
  /** The model this API preprocesses for (its name is in every result). */
  manifest: Manifest;
  close(): Promise<void>;
}

export interface ConnectedDeps {
  deps: ApiDeps;
  /** Releases long-polls with their current view, then disconnects from Redis. */
  close(): Promise<void>;
}

/** Connects to Redis and builds what the routes need. The model's manifest is read for its preprocessing. */
export async function connectApiDeps(config: Config, log: Logger): Promise<ConnectedDeps> {
  if (!config.redisUrl) throw new Error('REDIS_URL is required for the API');
  const manifest = await loadManifest(config.modelDir);
  const redis = connectRedis(config.redisUrl, 'command');
  const queue = new Queue<JobData, JobResult>(config.queueName, {
    connection: redis,
    prefix: keyPrefix,
    defaultJobOptions: defaultJobOptions(config),
  });
  const events = new QueueEvents(config.queueName, { connection: connectRedis(config.redisUrl, 'blocking'), prefix: keyPrefix });
  events.on('error', (err) => log.warn({ err }, 'queue events connection error'));
  queue.on('error', (err) => log.warn({ err }, 'queue connection error'));
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  const waiter = new JobWaiter(events);
  const store = new JobStore(queue, redis, {
    queueName: config.queueName,
    inputTtlSeconds: config.failedTtlSeconds,
    resultTtlSeconds: config.resultTtlSeconds,
  });
  const deps: ApiDeps = {
    store,
    waiter,
    manifest,
    log,
    redis,
    queueName: config.queueName,
    trustedProxyHops: config.trustedProxyHops,
    clients: {
      apiKeyDigests: config.apiKeyDigests,
      rateLimitPerMinute: config.rateLimitPerMinute,
      authFailures: new AuthFailures(redis, config.queueName, config.authFailuresPerHour),
    },
    metrics: createApiMetrics(store, config.queueName, log),
    limits: {
      maxUploadBytes: config.maxUploadBytes,
      maxImagePixels: config.maxImagePixels,
      waitMaxSeconds: config.waitMaxSeconds,
      predictTimeoutSeconds: config.predictTimeoutSeconds,
      maxQueueDepth: config.maxQueueDepth,
      defaultDeadlineSeconds: config.defaultDeadlineSeconds,
    },
    operators: { queue, dashboardCredentials: config.dashboardCredentials, metricsCredentials: config.metricsCredentials },
  };
  let closing: Promise<void> | undefined;
  return {
    deps,
    close: () =>
      (closing ??= (async () => {
        waiter.close();
        await events.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
        await redis.quit().catch(() => undefined);
      })()),
  };
}

/** Connects, builds the app and listens. */
export async function startApi(config: Config, log: Logger): Promise<RunningApi> {
  const connected = await connectApiDeps(config, log);
  const { deps } = connected;
  const app = createApp(deps);
  const handle = app.callback();
  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, queue: config.queueName, model: deps.manifest.name }, 'api listening');
  if (hasCredentials(config.dashboardCredentials)) log.info({ path: dashboardPath }, 'dashboard mounted (credentials required)');
  else log.info(`dashboard not mounted: set DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_TOKEN, to serve it at ${dashboardPath}`);
  if (!hasCredentials(config.metricsCredentials)) log.info('/metrics is open: set METRICS_TOKEN to require a bearer token');

  let closing: Promise<void> | undefined;
  return {
    port,
    manifest: deps.manifest,
    /** Stops accepting, releases long-polls with their current view, lets requests finish, then disconnects. */
    close: () =>
      (closing ??= (async () => {
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        deps.waiter.close();
        // Keep-alive sockets become idle only once their last response is sent: close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        await drained;
        clearInterval(sweep);
        await connected.close();
      })()),
  };
}
