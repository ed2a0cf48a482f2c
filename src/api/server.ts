import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import type { Config } from '../config.js';
import { hasCredentials } from '../credentials.js';
import { defaultJobOptions, keyPrefix, type JobData, type JobResult } from '../jobs.js';
import type { Logger } from '../logger.js';
import { loadManifest } from '../model/manifest.js';
import { connectRedis } from '../redis.js';
import { deliveryJobOptions, webhookQueueName } from '../webhook/webhook-queue.js';
import { createApiMetrics } from './api-metrics.js';
import { createApp } from './app.js';
import { dashboardPath } from './dashboard.js';
import type { ApiDeps } from './deps.js';
import { JobStore } from './job-store.js';
import { JobWaiter } from './job-waiter.js';
import { startBatchFinisher } from './batch-finisher.js';
import { batchQueueName, BatchStore } from './batch-store.js';
import { startWebhookDispatcher, type ReadView, type WebhookDispatcher } from './webhook-dispatcher.js';

export interface RunningApi {
  port: number;
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
  // Batches are flows whose parents live in a queue of their own, named after QUEUE_NAME.
  const batchQueue = new Queue(batchQueueName(config.queueName), { connection: redis, prefix: keyPrefix });
  const batchEvents = new QueueEvents(batchQueue.name, { connection: connectRedis(config.redisUrl, 'blocking'), prefix: keyPrefix });
  batchEvents.on('error', (err) => log.warn({ err }, 'batch events connection error'));
  batchQueue.on('error', (err) => log.warn({ err }, 'batch queue connection error'));
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), batchQueue.waitUntilReady(), batchEvents.waitUntilReady()]);

  const waiter = new JobWaiter(events);
  // Jobs with a webhook and batches are added as flows (a delivery or batch parent over them).
  const flows = new FlowProducer({ connection: redis, prefix: keyPrefix });
  flows.on('error', (err) => log.warn({ err }, 'flow producer connection error'));
  const webhookSecret = config.webhooks.secret;
  const webhookRoute = webhookSecret && {
    queueName: webhookQueueName(config.queueName),
    jobOptions: deliveryJobOptions({ attempts: config.webhooks.attempts, backoffMs: config.webhooks.backoffMs, keepSeconds: config.failedTtlSeconds }),
  };
  const store = new JobStore(
    queue,
    redis,
    { queueName: config.queueName, inputTtlSeconds: config.failedTtlSeconds, resultTtlSeconds: config.resultTtlSeconds, webhooks: webhookRoute || undefined },
    flows,
  );
  const batchWaiter = new JobWaiter(batchEvents);
  const batches = new BatchStore(store, batchQueue, redis, { keepSeconds: config.failedTtlSeconds });
  // The batch finisher and the webhook dispatcher need no model, so they run beside the routes.
  const finisher = startBatchFinisher(config.redisUrl, batchQueue.name, log);
  let dispatcher: WebhookDispatcher | undefined;
  if (webhookSecret && webhookRoute) {
    // One job queue today: `message.queue` is the store's own (the batch queue for batches).
    const readView: ReadView = (message) => (message.subject === 'job' ? store.get(message.id, message.owner) : batches.get(message.id, message.owner));
    dispatcher = startWebhookDispatcher(config.redisUrl, webhookRoute.queueName, { ...config.webhooks, secret: webhookSecret }, readView, log);
  }
  const deps: ApiDeps = {
    store,
    waiter,
    batches,
    batchWaiter,
    webhooks: webhookSecret ? { allowHosts: config.webhooks.allowHosts } : undefined,
    manifest,
    log,
    redis,
    queueName: config.queueName,
    trustProxy: config.trustProxy,
    clients: { apiKeyDigests: config.apiKeyDigests, rateLimitPerMinute: config.rateLimitPerMinute },
    metrics: createApiMetrics(store, config.queueName, log),
    limits: {
      maxUploadBytes: config.maxUploadBytes,
      maxImagePixels: config.maxImagePixels,
      waitMaxSeconds: config.waitMaxSeconds,
      predictTimeoutSeconds: config.predictTimeoutSeconds,
      maxQueueDepth: config.maxQueueDepth,
      defaultDeadlineSeconds: config.defaultDeadlineSeconds,
      maxBatchImages: config.maxBatchImages,
    },
    operators: { queue, dashboardCredentials: config.dashboardCredentials, metricsCredentials: config.metricsCredentials },
  };
  let closing: Promise<void> | undefined;
  return {
    deps,
    close: () =>
      (closing ??= (async () => {
        waiter.close();
        batchWaiter.close();
        await dispatcher?.close().catch(() => undefined);
        await finisher.close().catch(() => undefined);
        await events.close().catch(() => undefined);
        await batchEvents.close().catch(() => undefined);
        await flows.close().catch(() => undefined);
        await batchQueue.close().catch(() => undefined);
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
