import { Worker } from 'bullmq';
import type { Config } from '../config.js';
import { inputKey, keyPrefix, type JobData, type JobResult } from '../jobs.js';
import type { Logger } from '../logger.js';
import { loadClassifier } from '../model/classifier.js';
import { progressLines } from '../model/download-progress.js';
import { fetchModel } from '../model/fetch-model.js';
import { configuredModelSource } from '../model/model-source.js';
import { connectRedis } from '../redis.js';
import { MicroBatcher } from './batcher.js';
import { createProcessor, type BatchOutput } from './processor.js';

export interface RunningWorker {
  close(): Promise<void>;
}

/**
 * Fetches the model if MODEL_URL is set and MODEL_DIR lacks it, loads it, then starts consuming:
 * the BullMQ Worker is created only after the model is ready, so a worker visible on the queue
 * (what /readyz counts) can always run jobs.
 */
export async function startWorker(config: Config, log: Logger): Promise<RunningWorker> {
  if (!config.redisUrl) throw new Error('REDIS_URL is required for the worker');
  const source = configuredModelSource(config);
  if (source) {
    // An empty model volume fills itself on first start; a model already there is used as it is.
    const onLine = (message: string) => log.info({ modelDir: config.modelDir }, message);
    await fetchModel(config.modelDir, source, { whenPresent: 'trust', log: onLine, onProgress: progressLines(onLine) });
  }
  const classifier = await loadClassifier(config.modelDir, { intraOpThreads: config.intraOpThreads });
  log.info({ model: classifier.manifest.name, loadMs: Math.round(classifier.loadMs), classes: classifier.labels.length }, 'model loaded');

  const batcher = new MicroBatcher<Uint8Array, BatchOutput>(
    { maxBatchSize: config.maxBatch, maxDelayMs: config.maxBatchDelayMs },
    async (images) => {
      const started = performance.now();
      const logits = await classifier.run(images);
      const inferenceMs = performance.now() - started;
      log.info({ size: images.length, ms: Math.round(inferenceMs) }, 'batch');
      return logits.map((l) => ({ logits: l, batchSize: images.length, inferenceMs }));
    },
  );

  const redis = connectRedis(config.redisUrl, 'blocking');
  const worker = new Worker<JobData, JobResult>(config.queueName, createProcessor(config.queueName, redis, classifier, batcher), {
    connection: redis,
    prefix: keyPrefix,
    concurrency: config.workerConcurrency,
  });
  worker.on('completed', (job) => {
    redis.del(inputKey(config.queueName, job.id!)).catch((err: unknown) => log.warn({ err, jobId: job.id }, 'input cleanup failed'));
  });
  worker.on('failed', (job, err) => log.warn({ jobId: job?.id, reason: err.message }, 'job failed'));
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  await worker.waitUntilReady();
  log.info({ queue: config.queueName, concurrency: config.workerConcurrency, maxBatch: config.maxBatch, maxBatchDelayMs: config.maxBatchDelayMs }, 'worker ready');

  let closing: Promise<void> | undefined;
  return {
    /** Stops fetching, lets held jobs finish their batches, then releases the model and Redis. */
    close: () =>
      (closing ??= (async () => {
        await worker.close();
        await batcher.close();
        await classifier.close();
        await redis.quit().catch(() => undefined);
      })()),
  };
}
