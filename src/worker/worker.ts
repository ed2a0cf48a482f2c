import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { checkModelNames } from '../model/check-model-names.js';
import { ModelLoadError } from '../model/classifier.js';
import { startInferenceThread } from '../model/inference-thread.js';
import { progressLines } from '../model/download-progress.js';
import { fetchModel } from '../model/fetch-model.js';
import { configuredModelSource } from '../model/model-source.js';
import { InputStore } from '../queue/input-store.js';
import { parseJobFailure } from '../queue/job-failure.js';
import type { JobData, JobResult } from '../queue/job-schemas.js';
import { inputTtlSeconds, keyPrefix, modelQueueName, queueKeys } from '../queue/keys.js';
import { WorkerPresence } from '../queue/worker-presence.js';
import { connectRedis, type RedisClient } from '../redis.js';
import { noRedisSentence, StartupError } from '../startup-error.js';
import { waitForRedis } from '../wait-for-redis.js';
import { redisErrorListener } from '../redis-outage.js';
import type { Tracing } from '../telemetry.js';
import { MicroBatcher } from './batcher.js';
import { startMetricsServer, type RunningMetricsServer } from './metrics-server.js';
import { createProcessor, type BatchOutput } from './processor.js';
import { startFinishedJobExpiry } from './finished-job-expiry.js';
import { createWorkerMetrics, type WorkerMetrics } from './worker-metrics.js';

export interface RunningWorker {
  close(): Promise<void>;
}

/** How often a worker sweeps orphaned inputs (it also does at start), ms. */
const sweepIntervalMs = 60_000;

/** One loaded model and what consumes its queue. */
interface ModelConsumer {
  name: string;
  close(): Promise<void>;
}

interface ModelConsumerContext {
  config: Pick<Config, 'worker' | 'queue'>;
  log: Logger;
  metrics: WorkerMetrics;
  redis: RedisClient;
  tracing?: Tracing | undefined;
}

/**
 * Loads the model of `modelDir` in its own inference thread and starts one BullMQ Worker and one
 * batcher on that model's queue: a batch never mixes models, and this process takes only jobs of
 * the models it has loaded. The Worker is created only after the model is ready, so a worker
 * visible on the queue (what /readyz and /models count) can always run its jobs.
 */
async function startModelConsumer(
  modelDir: string,
  { config, log, metrics, redis, tracing }: ModelConsumerContext,
): Promise<ModelConsumer> {
  const classifier = await startInferenceThread(modelDir, {
    intraOpThreads: config.worker.intraOpThreads,
    intraOpSpinning: config.worker.intraOpSpinning,
    // Without its model thread the worker cannot run jobs: exit, so the jobs it holds are
    // recovered as stalled by another worker and a supervisor restarts this one.
    onExit: (err) => {
      log.fatal({ err }, 'inference thread died');
      process.exit(1);
    },
  }).catch((err: unknown) => {
    // A missing or unreadable model does not fix itself by restarting: say which and how to get one.
    throw err instanceof ModelLoadError ? new StartupError(`cannot load the model: ${err.message}`) : err;
  });
  const model = classifier.manifest.name;
  log.info(
    {
      model,
      precision: classifier.precision,
      loadMs: Math.round(classifier.loadMs),
      classes: classifier.labels.length,
      intraOpThreads: config.worker.intraOpThreads,
    },
    'model loaded',
  );
  metrics.modelLoadSeconds.set({ model }, classifier.loadMs / 1000);
  metrics.modelInfo.set({ model, precision: classifier.precision }, 1);
  metrics.jobsCompleted.inc({ model }, 0);

  const batcher = new MicroBatcher<Uint8Array, BatchOutput>(
    { maxBatchSize: config.worker.maxBatch, maxDelayMs: config.worker.maxBatchDelayMs },
    async (images) => {
      const startedAt = Date.now();
      const started = performance.now();
      const logits = await classifier.run(images);
      const inferenceMs = performance.now() - started;
      const endedAt = Date.now();
      log.info({ model, size: images.length, ms: Math.round(inferenceMs) }, 'batch');
      metrics.batchSize.observe({ model }, images.length);
      metrics.batchInferenceSeconds.observe({ model }, inferenceMs / 1000);
      return logits.map((l) => ({ logits: l, batchSize: images.length, inferenceMs, startedAt, endedAt }));
    },
  );

  const queueName = modelQueueName(config.queue.name, model);
  const keys = queueKeys(queueName);
  const inputs = new InputStore(redis, keys, { ttlSeconds: inputTtlSeconds(config.queue) });
  const worker = new Worker<JobData, JobResult>(queueName, createProcessor(inputs, classifier, batcher, log, tracing), {
    connection: redis,
    prefix: keyPrefix,
    concurrency: config.worker.concurrency,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    // A job whose worker died runs again, twice at most; one that keeps killing workers then fails.
    maxStalledCount: 2,
    telemetry: tracing?.bullmq,
  });
  // The state is recorded: the outcome kept for a replay is no longer needed (the sweep is the backstop).
  const forgetOutcome = (jobId: string) => void inputs.forgetOutcome(jobId).catch(() => undefined);
  worker.on('completed', (job) => {
    forgetOutcome(job.id!);
    metrics.jobsCompleted.inc({ model });
    if (job.finishedOn)
      metrics.jobLatencySeconds.observe({ model, status: 'completed' }, (job.finishedOn - job.timestamp) / 1000);
  });
  worker.on('failed', (job, err) => {
    const { code, message } = parseJobFailure(err.message);
    log.warn({ jobId: job?.id, model, code, reason: message }, 'job failed');
    // BullMQ sets finishedOn only when the job moves to failed for good; a retried attempt has none.
    if (job?.finishedOn) {
      forgetOutcome(job.id!);
      metrics.jobsFailed.inc({ model, code });
      metrics.jobLatencySeconds.observe({ model, status: 'failed' }, (job.finishedOn - job.timestamp) / 1000);
    } else {
      metrics.jobRetries.inc({ model, code });
    }
  });
  worker.on('error', redisErrorListener(log, 'worker error', { model }));
  await worker.waitUntilReady();
  // Inputs orphaned by any fault (a crash between steps, a job failed by the stall check, one
  // removed from the dashboard) live at most one sweep interval.
  const sweep = () =>
    inputs.sweep().then(
      (deleted) => deleted > 0 && log.info({ model, deleted }, 'orphaned inputs deleted'),
      (err: unknown) => log.warn({ err, model }, 'input sweep failed'),
    );
  await sweep();
  const sweeper = setInterval(() => void sweep(), sweepIntervalMs);
  const stopExpiry = startFinishedJobExpiry(queueName, redis, config.queue, log);
  // Announced last: from here on this worker can run the model's jobs, so the API may accept them.
  const withdraw = await new WorkerPresence(redis, keys).keepAnnounced(randomUUID(), (err) =>
    log.warn({ err, model }, 'worker announcement failed'),
  );
  log.info(
    {
      model,
      queue: queueName,
      concurrency: config.worker.concurrency,
      maxBatch: config.worker.maxBatch,
      maxBatchDelayMs: config.worker.maxBatchDelayMs,
    },
    'worker ready',
  );
  return {
    name: model,
    close: async () => {
      clearInterval(sweeper);
      await stopExpiry();
      await withdraw();
      await worker.close();
      await batcher.close();
      await classifier.close();
    },
  };
}

/**
 * Fetches the model if MODEL_URL is set and the first model directory lacks it, then loads every
 * model of MODEL_DIRS (else MODEL_DIR), one after another, each with its own BullMQ Worker.
 */
export async function startWorker(config: Config, log: Logger, tracing?: Tracing): Promise<RunningWorker> {
  if (!config.redis.target) throw new StartupError(noRedisSentence('worker'));
  const redisTarget = config.redis.target;
  await waitForRedis(redisTarget);
  const source = configuredModelSource(config.models);
  if (source) {
    // An empty model volume fills itself on first start; a model already there is used as it is.
    const onLine = (message: string) => log.info({ modelDir: config.models.dir }, message);
    await fetchModel(config.models.dir, source, {
      whenPresent: 'trust',
      log: onLine,
      onProgress: progressLines(onLine),
    });
  }
  const metrics = createWorkerMetrics(config.worker.maxBatch);
  // Before any BullMQ worker exists: a port already in use stops start-up before any job is taken.
  let metricsServer: RunningMetricsServer | undefined;
  if (config.worker.metricsPort !== 0) {
    metricsServer = await startMetricsServer({
      port: config.worker.metricsPort,
      host: config.http.host,
      registry: metrics.registry,
      credentials: config.operators.metricsCredentials,
    });
    log.info({ port: metricsServer.port }, 'worker metrics listening');
  }
  const redis = connectRedis(redisTarget, 'blocking', { log });
  const consumers: ModelConsumer[] = [];
  const closeAll = async () => {
    for (const consumer of consumers) await consumer.close();
    await metricsServer?.close();
    await redis.quit().catch(() => undefined);
  };
  try {
    for (const dir of config.models.dirs) {
      consumers.push(await startModelConsumer(dir, { config, log, metrics, redis, tracing }));
      checkModelNames(consumers.map((c) => c.name));
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    /** Stops fetching, lets held jobs finish their batches, then releases the models and Redis. */
    close: () => (closing ??= closeAll()),
  };
}
