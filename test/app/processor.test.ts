import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { loadClassifier, type Classifier } from '../../src/model/classifier.js';
import { prepareImage } from '../../src/model/preprocess.js';
import { InputStore } from '../../src/queue/input-store.js';
import { parseJobFailure } from '../../src/queue/job-failure.js';
import type { JobData, JobResult } from '../../src/queue/job-schemas.js';
import { defaultJobOptions, keyPrefix, queueKeys } from '../../src/queue/keys.js';
import { MicroBatcher } from '../../src/worker/batcher.js';
import { createProcessor, type BatchOutput } from '../../src/worker/processor.js';
import { image } from '../support/http.js';
import { modelDir } from '../support/paths.js';

const redisUrl = inject('redisUrl');
const queueName = `processor-${randomUUID().slice(0, 8)}`;
const keys = queueKeys(queueName);
let redis: Redis;
let queue: Queue<JobData, JobResult>;
let classifier: Classifier;
let inputs: InputStore;

beforeAll(async () => {
  redis = new Redis(redisUrl);
  queue = new Queue(queueName, {
    connection: redis,
    prefix: keyPrefix,
    defaultJobOptions: defaultJobOptions({ resultTtlSeconds: 60, failedTtlSeconds: 60 }),
  });
  classifier = await loadClassifier(modelDir, { intraOpThreads: 1 });
  inputs = new InputStore(redis, keys, { ttlSeconds: 60 });
});
afterAll(async () => {
  await classifier.close();
  await queue.obliterate({ force: true });
  await queue.close();
  redis.disconnect();
});

/** A stored job as a worker would fetch it. */
async function storedJob(): Promise<Job<JobData, JobResult>> {
  const prepared = await prepareImage(await image('coffee.png'), classifier.manifest, { maxImagePixels: 50_000_000 });
  const id = randomUUID();
  await inputs.put(id, prepared.crop);
  await queue.add('classify', { topk: 5, input: { width: 224, height: 224 }, source: prepared.source }, { jobId: id });
  return (await Job.fromId<JobData, JobResult>(queue, id))!;
}

describe('the processor', () => {
  it('replaces the input with the outcome before it returns, and replays that outcome on a re-run', async () => {
    const batcher = new MicroBatcher<Uint8Array, BatchOutput>({ maxBatchSize: 1, maxDelayMs: 0 }, async (images) => {
      const logits = await classifier.run(images);
      return logits.map((l) => ({
        logits: l,
        batchSize: images.length,
        inferenceMs: 1,
        startedAt: Date.now(),
        endedAt: Date.now(),
      }));
    });
    const job = await storedJob();
    const processor = createProcessor(inputs, classifier, batcher, createLogger('silent', 'test'));
    const result = await processor(job, 'token');
    expect(result.predictions[0]!.label).toBe('espresso');
    expect(await redis.exists(keys.input(job.id!))).toBe(0);
    // BullMQ could not record the state (its lock was lost in a Redis outage) and runs the job
    // again (moving it to active again counts a second start): the outcome kept in the input's
    // place is replayed, not an input_missing failure.
    job.attemptsStarted = 2;
    expect(await processor(job, 'token')).toEqual(result);
    await inputs.forgetOutcome(job.id!);
    await batcher.close();
  });

  it('inference error: retryable inference_failed, runtime text hidden, input kept to the last attempt', async () => {
    const ortText = '[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: data';
    const batcher = new MicroBatcher<Uint8Array, BatchOutput>({ maxBatchSize: 1, maxDelayMs: 0 }, () =>
      Promise.reject(new Error(ortText)),
    );
    const processor = createProcessor(inputs, classifier, batcher, createLogger('silent', 'test'));
    const job = await storedJob();

    const first: unknown = await processor(job, 'token').catch((err: unknown) => err);
    const failure = parseJobFailure((first as Error).message);
    expect(failure).toMatchObject({ code: 'inference_failed', retryable: true });
    expect(failure.message).not.toMatch(/ONNX|INVALID_ARGUMENT|dimensions/);
    expect((first as Error).name).toBe('Error');
    expect(await redis.exists(keys.input(job.id!))).toBe(1);

    job.attemptsMade = 2;
    const last: unknown = await processor(job, 'token').catch((err: unknown) => err);
    expect(parseJobFailure((last as Error).message).code).toBe('inference_failed');
    expect(await redis.exists(keys.input(job.id!))).toBe(0);
    await batcher.close();
  });
});
