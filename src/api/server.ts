import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import type { Config } from '../config.js';
import { defaultJobOptions, keyPrefix, type JobData, type JobResult } from '../jobs.js';
import type { Logger } from '../logger.js';
import { loadManifest } from '../model/manifest.js';
import { connectRedis } from '../redis.js';
import { createApp } from './app.js';
import { JobStore } from './job-store.js';
import { JobWaiter } from './job-waiter.js';

export interface RunningApi {
  port: number;
  close(): Promise<void>;
}

/** Connects to Redis, builds the app and listens. The model's manifest is read for its preprocessing. */
export async function startApi(config: Config, log: Logger): Promise<RunningApi> {
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
  const app = createApp({
    store,
    waiter,
    manifest,
    log,
    redis,
    queueName: config.queueName,
    trustProxy: config.trustProxy,
    clients: { apiKeyDigests: config.apiKeyDigests, rateLimitPerMinute: config.rateLimitPerMinute },
    limits: {
      maxUploadBytes: config.maxUploadBytes,
      maxImagePixels: config.maxImagePixels,
      waitMaxSeconds: config.waitMaxSeconds,
      predictTimeoutSeconds: config.predictTimeoutSeconds,
      maxQueueDepth: config.maxQueueDepth,
      defaultDeadlineSeconds: config.defaultDeadlineSeconds,
    },
  });
  const handle = app.callback();
  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, queue: config.queueName, model: manifest.name }, 'api listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    /** Stops accepting, releases long-polls with their current view, lets requests finish, then disconnects. */
    close: () =>
      (closing ??= (async () => {
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        waiter.close();
        await drained;
        await events.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
        await redis.quit().catch(() => undefined);
      })()),
  };
}
