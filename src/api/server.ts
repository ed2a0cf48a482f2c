import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import type { Config } from '../config.js';
import { hasCredentials } from '../credentials.js';
import type { Logger } from '../logger.js';
import { loadManifest, type Manifest } from '../model/manifest.js';
import { modelPrecision } from '../model/precision.js';
import { configureSharp } from '../model/sharp-settings.js';
import { InputStore } from '../queue/input-store.js';
import type { JobData, JobResult } from '../queue/job-schemas.js';
import { defaultJobOptions, inputTtlSeconds, keyPrefix, modelQueueName, queueKeys } from '../queue/keys.js';
import { loadLabels } from '../model/labels.js';
import { checkModelNames, ModelCatalog, type ServedModel } from './model-catalog.js';
import { QueueSignals } from '../queue/queue-signals.js';
import { WorkerPresence } from '../queue/worker-presence.js';
import { connectRedis } from '../redis.js';
import { redisErrorListener } from '../redis-outage.js';
import { RedisHeadroom } from './redis-headroom.js';
import { StartupError } from '../startup-error.js';
import { waitForRedis } from '../wait-for-redis.js';
import { deliveryJobOptions, webhookQueueName } from '../webhook/webhook-queue.js';
import type { Tracing } from '../telemetry.js';
import type { Closable } from '../run-main.js';
import { createApiMetrics } from './api-metrics.js';
import { modelReadiness, notReadySentence } from './readiness.js';
import { createApp } from './app.js';
import { AuthFailures } from './auth-failures.js';
import { dashboardPath, type DashboardQueue } from './dashboard.js';
import type { ApiDeps } from './deps.js';
import { JobStore } from './job-store.js';
import { createHttpServer } from './http-server.js';
import { JobWaiter } from './job-waiter.js';
import { startBatchFinisher } from './batch-finisher.js';
import { batchQueueName, BatchStore } from './batch-store.js';
import { DecodeSlots } from './decode-slots.js';
import { UploadAdmission } from './upload-admission.js';
import { FileStore } from './replicate/file-store.js';
import { ModelVersions } from './replicate/model-versions.js';
import { PredictionBook } from './replicate/prediction-book.js';
import { startWebhookDispatcher, type WebhookDispatcher } from './webhook-dispatcher.js';
import { composeWebhookMessage, type ReadView } from './webhook-message.js';

/** How long one Redis client may take to close before its connection is dropped, ms. */
const closeStepMs = 1500;

async function closeWithin(closing: Promise<unknown>, ms: number, drop: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([
    closing.then(
      () => 'closed',
      () => 'failed',
    ),
    late,
  ]);
  clearTimeout(timer);
  if (outcome !== 'closed') drop();
}

export interface RunningApi extends Closable {
  port: number;
  /** The models this API preprocesses for (each result names its own). */
  models: readonly Manifest[];
  close(): Promise<void>;
}

export interface ConnectedDeps {
  deps: ApiDeps;
  /** Releases long-polls with their current view, then disconnects from Redis. */
  close(): Promise<void>;
}

/** Connects to Redis and builds what the routes need. Every model's manifest is read for its preprocessing. */
export async function connectApiDeps(config: Config, log: Logger, tracing?: Tracing): Promise<ConnectedDeps> {
  if (!config.redis) throw new Error('REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is required for the API');
  // Every model's manifest: the API preprocesses for each. A bad one stops start-up, naming it.
  const manifests = await Promise.all(
    config.modelDirs.map((dir) =>
      loadManifest(dir).catch((err: unknown) => {
        throw new StartupError(`cannot read the model in ${dir}: ${(err as Error).message}`);
      }),
    ),
  );
  try {
    checkModelNames(
      manifests.map((m) => m.name),
      config.defaultModel,
    );
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
  // Read before connecting: BullMQ's clients are created together, with no await between them
  // (on a Cluster, one created while the shared connection is mid-handshake fails to start).
  const classes = await Promise.all(
    manifests.map((manifest, i) =>
      loadLabels(path.join(config.modelDirs[i]!, manifest.labels)).then(
        (labels) => labels.length,
        () => undefined,
      ),
    ),
  );
  const redisTarget = config.redis;
  await waitForRedis(redisTarget);
  // A durable submit's WAIT blocks on the server for up to its own timeout: never cut that short.
  const durableWaitMs = config.submitDurableReplicas > 0 ? config.submitDurableTimeoutMs + 1000 : 0;
  const redis = connectRedis(redisTarget, 'command', {
    log,
    commandTimeoutMs: Math.max(config.redisCommandTimeoutMs, durableWaitMs),
  });
  // One queue (and one event stream, for long-polls) per model.
  const perModel = manifests.map((manifest, i) => {
    const dir = config.modelDirs[i]!;
    const queueName = modelQueueName(config.queueName, manifest.name);
    const queue = new Queue<JobData, JobResult>(queueName, {
      connection: redis,
      prefix: keyPrefix,
      defaultJobOptions: defaultJobOptions(config),
      telemetry: tracing?.bullmq,
    });
    queue.on('error', redisErrorListener(log, 'queue connection error', { model: manifest.name }));
    const eventsConnection = connectRedis(redisTarget, 'blocking', { log });
    const events = new QueueEvents(queueName, { connection: eventsConnection, prefix: keyPrefix });
    events.on('error', redisErrorListener(log, 'queue events connection error', { model: manifest.name }));
    // API replicas need not hold the model (workers may fetch it): then only a manifest can say.
    // Not awaited: reading a 100 MB model file must not delay listening; its readers await it.
    const precision = modelPrecision(path.join(dir, manifest.file), manifest.precision).catch(() => undefined);
    return { manifest, queueName, queue, events, eventsConnection, precision, classes: classes[i] };
  });
  const queues = perModel.map((m) => m.queue);
  // Batches are flows whose parents live in a queue of their own, named after QUEUE_NAME.
  const batchQueue = new Queue(batchQueueName(config.queueName), { connection: redis, prefix: keyPrefix });
  const batchEventsConnection = connectRedis(config.redis, 'blocking', { log });
  const batchEvents = new QueueEvents(batchQueue.name, { connection: batchEventsConnection, prefix: keyPrefix });
  batchEvents.on('error', redisErrorListener(log, 'batch events connection error'));
  batchQueue.on('error', redisErrorListener(log, 'batch queue connection error'));
  await Promise.all([
    ...perModel.flatMap((m) => [m.queue.waitUntilReady(), m.events.waitUntilReady()]),
    batchQueue.waitUntilReady(),
    batchEvents.waitUntilReady(),
  ]);

  // Only the dashboard reads the webhook queue from here (the dispatcher has its own connection).
  const webhookQueue = new Queue(webhookQueueName(config.queueName), { connection: redis, prefix: keyPrefix });
  webhookQueue.on('error', redisErrorListener(log, 'webhook queue connection error'));
  const dashboardQueues: DashboardQueue[] = [
    ...perModel.map(({ queue, manifest }) => ({
      queue: queue as Queue,
      displayName: `${config.queueName}: model ${manifest.name}`,
      description: `classification jobs for ${manifest.name}`,
    })),
    { queue: batchQueue, displayName: `${config.queueName}: batches`, description: 'one parent job per POST /batches' },
    {
      queue: webhookQueue,
      displayName: `${config.queueName}: webhooks`,
      description: 'webhook deliveries and their retries',
    },
  ];
  const waiter = new JobWaiter(perModel.map((m) => m.events));
  // Jobs with a webhook and batches are added as flows (a delivery or batch parent over them).
  const flows = new FlowProducer({ connection: redis, prefix: keyPrefix });
  flows.on('error', redisErrorListener(log, 'flow producer connection error'));
  const webhookSecret = config.webhooks.secret;
  const webhookRoute = webhookSecret && {
    queueName: webhookQueueName(config.queueName),
    jobOptions: deliveryJobOptions({
      attempts: config.webhooks.attempts,
      backoffMs: config.webhooks.backoffMs,
      keepSeconds: config.failedTtlSeconds,
    }),
  };
  const namespaceKeys = queueKeys(config.queueName);
  const served: ServedModel[] = perModel.map(({ manifest, queueName, queue, precision, classes }) => {
    const keys = queueKeys(queueName);
    const workers = new WorkerPresence(redis, keys);
    const store = new JobStore(
      queue,
      redis,
      {
        queueName,
        keys,
        inputs: new InputStore(redis, keys, { ttlSeconds: inputTtlSeconds(config) }),
        workers,
        resultTtlSeconds: config.resultTtlSeconds,
        maxQueueDepth: config.maxQueueDepth,
        index: { key: (id) => namespaceKeys.jobModel(id), model: manifest.name, ttlSeconds: inputTtlSeconds(config) },
        webhooks: webhookRoute || undefined,
        durableReplicas: config.submitDurableReplicas,
        durableTimeoutMs: config.submitDurableTimeoutMs,
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
  const models = new ModelCatalog(served, config.defaultModel, redis, (id) => namespaceKeys.jobModel(id));
  const predictions = new PredictionBook(models, redis, namespaceKeys, config.resultTtlSeconds);
  const modelFiles = new Map(manifests.map((m, i) => [m.name, path.join(config.modelDirs[i]!, m.file)]));
  const batchWaiter = new JobWaiter(batchEvents);
  const batches = new BatchStore((queueName) => models.storeOfQueue(queueName), batchQueue, redis, {
    keepSeconds: config.failedTtlSeconds,
  });
  // The batch finisher and the webhook dispatcher need no model, so they run beside the routes.
  const finisher = startBatchFinisher(config.redis, batchQueue.name, log);
  let dispatcher: WebhookDispatcher | undefined;
  if (webhookSecret && webhookRoute) {
    // `message.queue` names the job's model queue (the batch queue for batches).
    const readView: ReadView = async (message) => {
      if (message.subject === 'batch') return batches.get(message.id, message.owner);
      if (message.subject === 'prediction') return predictions.get(message.id, message.owner, message.origin ?? '');
      return models.storeOfQueue(message.queue)?.get(message.id, message.owner);
    };
    dispatcher = startWebhookDispatcher(
      config.redis,
      webhookRoute.queueName,
      { ...config.webhooks, secret: webhookSecret },
      composeWebhookMessage(readView),
      log,
    );
  }
  const deps: ApiDeps = {
    models,
    waiter,
    batches,
    batchWaiter,
    webhooks: webhookSecret ? { allowHosts: config.webhooks.allowHosts } : undefined,
    log,
    redis,
    queueName: config.queueName,
    trustedProxyHops: config.trustedProxyHops,
    clients: {
      apiKeyDigests: config.apiKeyDigests,
      rateLimitPerMinute: config.rateLimitPerMinute,
      authFailures: new AuthFailures(redis, config.queueName, config.authFailuresPerHour),
    },
    metrics: createApiMetrics(models, config.maxQueueDepth, log),
    uploads: {
      admission: new UploadAdmission({
        maxConcurrentUploads: config.maxConcurrentUploads,
        uploadBufferBytes: config.uploadBufferBytes,
      }),
      decodeSlots: new DecodeSlots({ maxDecodes: config.decodeConcurrency, maxPixels: config.decodeMaxPixels }),
      redisHeadroom: new RedisHeadroom(redis),
    },
    limits: {
      maxUploadBytes: config.maxUploadBytes,
      maxImagePixels: config.maxImagePixels,
      waitMaxSeconds: config.waitMaxSeconds,
      predictTimeoutSeconds: config.predictTimeoutSeconds,
      maxQueueDepth: config.maxQueueDepth,
      defaultDeadlineSeconds: config.defaultDeadlineSeconds,
      maxBatchImages: config.maxBatchImages,
      uploadIdleTimeoutMs: config.uploadIdleTimeoutMs,
    },
    acceptWithoutWorkerUntil: Date.now() + config.workerGraceSeconds * 1000,
    replicate: {
      predictions,
      files: new FileStore(redis, namespaceKeys, config.resultTtlSeconds, config.maxQueueDepth),
      versions: new ModelVersions(models, modelFiles),
      fetch: {
        allowHosts: config.webhooks.allowHosts,
        maxBytes: config.maxUploadBytes,
        timeoutMs: config.webhooks.timeoutMs,
      },
      webhookSecret: webhookSecret && `whsec_${webhookSecret.toString('base64')}`,
    },
    operators: {
      queues,
      dashboardQueues,
      dashboardCredentials: config.dashboardCredentials,
      metricsCredentials: config.metricsCredentials,
    },
  };
  let closing: Promise<void> | undefined;
  return {
    deps,
    close: () =>
      (closing ??= (async () => {
        waiter.close();
        batchWaiter.close();
        await closeWithin(dispatcher?.close() ?? Promise.resolve(), closeStepMs, () => undefined);
        await closeWithin(finisher.close(), closeStepMs, () => undefined);
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

/** Connects, builds the app and listens. */
export async function startApi(config: Config, log: Logger, tracing?: Tracing): Promise<RunningApi> {
  configureSharp({ threadsPerImage: Math.max(1, Math.floor(os.availableParallelism() / config.decodeConcurrency)) });
  const connected = await connectApiDeps(config, log, tracing);
  const { deps } = connected;
  const server = createHttpServer(createApp(deps).callback(), log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  }).catch(async (err: unknown) => {
    await connected.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(
        `port ${config.port} on ${config.host} is already in use: stop what holds it, or set PORT to another port`,
      );
    if (code === 'EACCES')
      throw new StartupError(
        `not allowed to listen on port ${config.port} on ${config.host}: set PORT to a port above 1023`,
      );
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, queue: config.queueName, models: deps.models.models.map((m) => m.name) }, 'api listening');
  if (hasCredentials(config.dashboardCredentials))
    log.info({ path: dashboardPath }, 'dashboard mounted (credentials required)');
  else
    log.info(
      'dashboard not mounted: set DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_TOKEN, ' +
        `to serve it at ${dashboardPath}`,
    );
  if (!hasCredentials(config.metricsCredentials))
    log.info('/metrics is open: set METRICS_TOKEN to require a bearer token');

  // Models still without a live worker once the grace is over are named, each once: their
  // submissions now get 503 no_worker, and /readyz says not ready.
  const graceCheck = setTimeout(
    () =>
      void modelReadiness(deps.models.models).then(
        (states) => {
          if (states.some((m) => m.state !== 'ready'))
            log.warn({ models: states }, `still not ready after WORKER_GRACE_SECONDS: ${notReadySentence(states)}`);
        },
        () => undefined,
      ),
    config.workerGraceSeconds * 1000,
  );
  graceCheck.unref();
  let closing: Promise<void> | undefined;
  return {
    port,
    models: deps.models.models.map((m) => m.manifest),
    ready: { port, models: deps.models.models.map((m) => m.name) },
    /** Stops accepting, releases long-polls with their current view, lets requests finish, then disconnects. */
    close: () =>
      (closing ??= (async () => {
        clearTimeout(graceCheck);
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
