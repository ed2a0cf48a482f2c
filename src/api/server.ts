import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { closeStepMs, closeWithin } from '../close-within.js';
import type { Config } from '../config.js';
import { hasCredentials } from '../credentials.js';
import type { Logger } from '../logger.js';
import { loadManifest, type Manifest } from '../model/manifest.js';
import { configureSharp } from '../model/sharp-settings.js';
import { loadLabels } from '../model/labels.js';
import { checkModelNames } from '../model/check-model-names.js';
import { connectJobService, RedisHeadroom } from '../jobs/index.js';
import { noRedisSentence, StartupError } from '../startup-error.js';
import { waitForRedis } from '../wait-for-redis.js';
import type { Tracing } from '../telemetry.js';
import type { Closable } from '../run-main.js';
import { createApiMetrics } from './api-metrics.js';
import { modelReadiness, notReadySentence } from './readiness.js';
import { createApp } from './app.js';
import { AuthFailures } from './guards/auth-failures.js';
import { dashboardPath, type DashboardQueue } from './dashboard.js';
import type { ApiDeps } from './deps.js';
import { createHttpServer } from './http-server.js';
import { DecodeSlots } from './uploads/decode-slots.js';
import { UploadAdmission } from './uploads/upload-admission.js';
import { FileStore } from './replicate/file-store.js';
import { ModelVersions } from './replicate/model-versions.js';
import { PredictionBook } from './replicate/prediction-book.js';
import { startWebhookDispatcher, type WebhookDispatcher } from '../webhook/webhook-dispatcher.js';
import { composeWebhookMessage, type ReadView } from './webhook-message.js';

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
  if (!config.redis.target) throw new StartupError(noRedisSentence('API'));
  const { models: modelsConfig, queue: queueConfig, limits } = config;
  // Every model's manifest: the API preprocesses for each. A bad one stops start-up, naming it.
  const manifests = await Promise.all(
    modelsConfig.dirs.map((dir) =>
      loadManifest(dir).catch((err: unknown) => {
        throw new StartupError(`cannot read the model in ${dir}: ${(err as Error).message}`);
      }),
    ),
  );
  checkModelNames(
    manifests.map((m) => m.name),
    modelsConfig.defaultModel,
  );
  // Read before connecting: BullMQ's clients are created together, with no await between them
  // (on a Cluster, one created while the shared connection is mid-handshake fails to start).
  const classes = await Promise.all(
    manifests.map((manifest, i) =>
      loadLabels(path.join(modelsConfig.dirs[i]!, manifest.labels)).then(
        (labels) => labels.length,
        () => undefined,
      ),
    ),
  );
  const redisTarget = config.redis.target;
  await waitForRedis(redisTarget);
  const jobs = await connectJobService(
    redisTarget,
    config,
    manifests.map((manifest, i) => ({ manifest, dir: modelsConfig.dirs[i]!, classes: classes[i] })),
    log,
    tracing,
  );
  const { models, batches, redis, namespaceKeys } = jobs;
  const dashboardQueues: DashboardQueue[] = [
    ...jobs.queues.models.map((queue, i) => ({
      queue: queue as Queue,
      displayName: `${queueConfig.name}: model ${manifests[i]!.name}`,
      description: `classification jobs for ${manifests[i]!.name}`,
    })),
    {
      queue: jobs.queues.batches,
      displayName: `${queueConfig.name}: batches`,
      description: 'one parent job per POST /batches',
    },
    {
      queue: jobs.queues.webhooks,
      displayName: `${queueConfig.name}: webhooks`,
      description: 'webhook deliveries and their retries',
    },
  ];
  const predictions = new PredictionBook(models, redis, namespaceKeys, queueConfig.resultTtlSeconds);
  const modelFiles = new Map(manifests.map((m, i) => [m.name, path.join(modelsConfig.dirs[i]!, m.file)]));
  const webhookSecret = config.webhooks.secret;
  // The webhook dispatcher needs no model, so it runs beside the routes; it reads every kind of view.
  let dispatcher: WebhookDispatcher | undefined;
  if (webhookSecret) {
    // `message.queue` names the job's model queue (the batch queue for batches).
    const readView: ReadView = async (message) => {
      if (message.subject === 'batch') return batches.get(message.id, message.owner);
      if (message.subject === 'prediction') return predictions.get(message.id, message.owner, message.origin ?? '');
      return models.storeOfQueue(message.queue)?.get(message.id, message.owner);
    };
    dispatcher = startWebhookDispatcher(
      redisTarget,
      jobs.queues.webhooks.name,
      { ...config.webhooks, secret: webhookSecret },
      composeWebhookMessage(readView),
      log,
    );
  }
  const deps: ApiDeps = {
    models,
    waiter: jobs.waiter,
    batches,
    batchWaiter: jobs.batchWaiter,
    webhooks: config.webhooks,
    log,
    redis,
    queue: queueConfig,
    clients: {
      ...config.clients,
      authFailures: new AuthFailures(redis, queueConfig.name, config.clients.authFailuresPerHour),
    },
    metrics: createApiMetrics(models, limits.maxQueueDepth, log),
    uploads: {
      admission: new UploadAdmission(config.uploads),
      decodeSlots: new DecodeSlots(config.uploads.decode),
      redisHeadroom: new RedisHeadroom(redis),
    },
    limits,
    acceptWithoutWorkerUntil: Date.now() + config.worker.graceSeconds * 1000,
    replicate: {
      predictions,
      files: new FileStore(redis, namespaceKeys, queueConfig.resultTtlSeconds, limits.maxQueueDepth),
      versions: new ModelVersions(models, modelFiles),
      fetch: {
        allowHosts: config.webhooks.allowHosts,
        maxBytes: limits.maxUploadBytes,
        timeoutMs: config.webhooks.timeoutMs,
      },
      webhookSecret: webhookSecret && `whsec_${webhookSecret.toString('base64')}`,
    },
    operators: { ...config.operators, queues: jobs.queues.models, dashboardQueues },
  };
  let closing: Promise<void> | undefined;
  return {
    deps,
    close: () =>
      (closing ??= (async () => {
        await closeWithin(dispatcher?.close() ?? Promise.resolve(), closeStepMs);
        await jobs.close();
      })()),
  };
}

/** Connects, builds the app and listens. */
export async function startApi(config: Config, log: Logger, tracing?: Tracing): Promise<RunningApi> {
  configureSharp({
    threadsPerImage: Math.max(1, Math.floor(os.availableParallelism() / config.uploads.decode.maxDecodes)),
  });
  const { http } = config;
  const connected = await connectApiDeps(config, log, tracing);
  const { deps } = connected;
  const server = createHttpServer(createApp(deps).callback(), log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, http.host, resolve);
  }).catch(async (err: unknown) => {
    await connected.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(
        `port ${http.port} on ${http.host} is already in use: stop what holds it, or set PORT to another port`,
      );
    if (code === 'EACCES')
      throw new StartupError(
        `not allowed to listen on port ${http.port} on ${http.host}: set PORT to a port above 1023`,
      );
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, queue: config.queue.name, models: deps.models.models.map((m) => m.name) }, 'api listening');
  if (hasCredentials(config.operators.dashboardCredentials))
    log.info({ path: dashboardPath }, 'dashboard mounted (credentials required)');
  else
    log.info(
      'dashboard not mounted: set DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_TOKEN, ' +
        `to serve it at ${dashboardPath}`,
    );
  if (!hasCredentials(config.operators.metricsCredentials))
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
    config.worker.graceSeconds * 1000,
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
