import path from 'node:path';
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { closeStepMs, closeWithin } from '../close-within.js';
import type { Config, RedisTarget } from '../config.js';
import type { Logger } from '../logger.js';
import type { Manifest } from '../model/manifest.js';
import { modelPrecision } from '../model/precision.js';
import { InputStore } from '../queue/input-store.js';
import type { JobData, JobResult } from '../queue/job-schemas.js';
import {
  batchQueueName,
  defaultJobOptions,
  inputTtlSeconds,
  keyPrefix,
  modelQueueName,
  queueKeys,
  type QueueKeys,
} from '../queue/keys.js';
import { QueueSignals } from '../queue/queue-signals.js';
import { WorkerPresence } from '../queue/worker-presence.js';
import { connectRedis, type RedisClient } from '../redis.js';
import { redisErrorListener } from '../redis-outage.js';
import type { Tracing } from '../telemetry.js';
import { deliveryJobOptions, webhookQueueName } from '../webhook/webhook-queue.js';
import { startBatchFinisher } from './batch-finisher.js';
import { BatchStore } from './batch-store.js';
import { JobStore } from './job-store.js';
import { JobWaiter } from './job-waiter.js';
import { ModelCatalog, type ServedModel } from './model-catalog.js';

/** A model to take jobs for: its manifest, its directory, and its class count when its labels could be read. */
export interface ModelToServe {
  manifest: Manifest;
  dir: string;
  classes: number | undefined;
}

/** The job service of one API process: every model's jobs, the batches, and the long-polls on both. */
export interface JobService {
  /** Every served model with its store; a request picks one. */
  models: ModelCatalog;
  waiter: JobWaiter;
  batches: BatchStore;
  /** Long-polls on batches, over the batch queue's events. */
  batchWaiter: JobWaiter;
  /** The command connection every store shares (the HTTP layer's counters and records use it too). */
  redis: RedisClient;
  /** The namespace's own keys (QUEUE_NAME): job ID -> model, predictions, files. */
  namespaceKeys: QueueKeys;
  /** Every queue of the namespace, for operators: each model's, the batch queue and the webhook queue. */
  queues: { models: readonly Queue<JobData, JobResult>[]; batches: Queue; webhooks: Queue };
  /** Releases long-polls with their current view, stops the batch finisher, then disconnects, each step bounded. */
  close(): Promise<void>;
}

/**
 * Connects the job service: a queue and an event stream per model, the batch queue and its
 * finisher (it needs no model, so it runs here), and the producer that adds jobs with a webhook
 * and batches as flows. BullMQ's clients are created together, with no await between them: on a
 * Cluster, one created while the shared connection is mid-handshake fails to start.
 */
export async function connectJobService(
  target: RedisTarget,
  config: Pick<Config, 'redis' | 'queue' | 'models' | 'limits' | 'webhooks'>,
  toServe: readonly ModelToServe[],
  log: Logger,
  tracing?: Tracing,
): Promise<JobService> {
  const { queue: queueConfig } = config;
  // A durable submit's WAIT blocks on the server for up to its own timeout: never cut that short.
  const { durableReplicas, durableTimeoutMs, commandTimeoutMs } = config.redis;
  const durableWaitMs = durableReplicas > 0 ? durableTimeoutMs + 1000 : 0;
  const redis = connectRedis(target, 'command', { log, commandTimeoutMs: Math.max(commandTimeoutMs, durableWaitMs) });
  const perModel = toServe.map(({ manifest, dir, classes }) => {
    const queueName = modelQueueName(queueConfig.name, manifest.name);
    const queue = new Queue<JobData, JobResult>(queueName, {
      connection: redis,
      prefix: keyPrefix,
      defaultJobOptions: defaultJobOptions(queueConfig),
      telemetry: tracing?.bullmq,
    });
    queue.on('error', redisErrorListener(log, 'queue connection error', { model: manifest.name }));
    const eventsConnection = connectRedis(target, 'blocking', { log });
    const events = new QueueEvents(queueName, { connection: eventsConnection, prefix: keyPrefix });
    events.on('error', redisErrorListener(log, 'queue events connection error', { model: manifest.name }));
    // API replicas need not hold the model (workers may fetch it): then only a manifest can say.
    // Not awaited: reading a 100 MB model file must not delay listening; its readers await it.
    const precision = modelPrecision(path.join(dir, manifest.file), manifest.precision).catch(() => undefined);
    return { manifest, queueName, queue, events, eventsConnection, precision, classes };
  });
  // Batches are flows whose parents live in a queue of their own, named after QUEUE_NAME.
  const batchQueue = new Queue(batchQueueName(queueConfig.name), { connection: redis, prefix: keyPrefix });
  const batchEventsConnection = connectRedis(target, 'blocking', { log });
  const batchEvents = new QueueEvents(batchQueue.name, { connection: batchEventsConnection, prefix: keyPrefix });
  batchEvents.on('error', redisErrorListener(log, 'batch events connection error'));
  batchQueue.on('error', redisErrorListener(log, 'batch queue connection error'));
  await Promise.all([
    ...perModel.flatMap((m) => [m.queue.waitUntilReady(), m.events.waitUntilReady()]),
    batchQueue.waitUntilReady(),
    batchEvents.waitUntilReady(),
  ]);
  // Only the dashboard reads the webhook queue from here (the dispatcher has its own connection).
  const webhookQueue = new Queue(webhookQueueName(queueConfig.name), { connection: redis, prefix: keyPrefix });
  webhookQueue.on('error', redisErrorListener(log, 'webhook queue connection error'));
  const flows = new FlowProducer({ connection: redis, prefix: keyPrefix });
  flows.on('error', redisErrorListener(log, 'flow producer connection error'));
  const webhookRoute = config.webhooks.secret && {
    queueName: webhookQueue.name,
    jobOptions: deliveryJobOptions({
      attempts: config.webhooks.attempts,
      backoffMs: config.webhooks.backoffMs,
      keepSeconds: queueConfig.failedTtlSeconds,
    }),
  };
  const namespaceKeys = queueKeys(queueConfig.name);
  const served: ServedModel[] = perModel.map(({ manifest, queueName, queue, precision, classes }) => {
    const keys = queueKeys(queueName);
    const workers = new WorkerPresence(redis, keys);
    const store = new JobStore(
      queue,
      redis,
      {
        queueName,
        keys,
        inputs: new InputStore(redis, keys, { ttlSeconds: inputTtlSeconds(queueConfig) }),
        workers,
        resultTtlSeconds: queueConfig.resultTtlSeconds,
        maxQueueDepth: config.limits.maxQueueDepth,
        index: {
          key: (id) => namespaceKeys.jobModel(id),
          model: manifest.name,
          ttlSeconds: inputTtlSeconds(queueConfig),
        },
        webhooks: webhookRoute || undefined,
        durableReplicas,
        durableTimeoutMs,
      },
      flows,
    );
    return {
      name: manifest.name,
      manifest,
      precision,
      classes,
      store,
      signals: new QueueSignals(queue, redis, workers),
    };
  });
  const models = new ModelCatalog(served, config.models.defaultModel, redis, (id) => namespaceKeys.jobModel(id));
  const waiter = new JobWaiter(perModel.map((m) => m.events));
  const batchWaiter = new JobWaiter(batchEvents);
  const batches = new BatchStore((queueName) => models.storeOfQueue(queueName), batchQueue, redis, {
    keepSeconds: queueConfig.failedTtlSeconds,
  });
  const finisher = startBatchFinisher(target, batchQueue.name, log);
  const queues = perModel.map((m) => m.queue);
  let closing: Promise<void> | undefined;
  return {
    models,
    waiter,
    batches,
    batchWaiter,
    redis,
    namespaceKeys,
    queues: { models: queues, batches: batchQueue, webhooks: webhookQueue },
    close: () =>
      (closing ??= (async () => {
        waiter.close();
        batchWaiter.close();
        await closeWithin(finisher.close(), closeStepMs);
        // BullMQ's close() waits for Redis; with Redis down it would wait forever, so each gets
        // a bounded time and then its connection is dropped.
        for (const m of perModel)
          await closeWithin(m.events.close(), closeStepMs, () => m.eventsConnection.disconnect());
        await closeWithin(batchEvents.close(), closeStepMs, () => batchEventsConnection.disconnect());
        await closeWithin(flows.close(), closeStepMs, () => redis.disconnect());
        await closeWithin(batchQueue.close(), closeStepMs, () => redis.disconnect());
        await closeWithin(webhookQueue.close(), closeStepMs, () => redis.disconnect());
        for (const queue of queues) await closeWithin(queue.close(), closeStepMs, () => redis.disconnect());
        await closeWithin(redis.quit(), closeStepMs, () => redis.disconnect());
      })()),
  };
}
