import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyPrefix } from '../../src/queue/keys.js';
import { connectRedis } from '../../src/redis.js';
import { image, postImage } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { defaultJobQueue, defaultModelName } from '../support/paths.js';
import { sample } from '../support/prometheus.js';

/**
 * The operator-facing queue signals against a scripted sequence of jobs. No service worker runs:
 * a BullMQ worker of the test takes, fails and completes jobs by hand (what a worker does, one step
 * at a time), so every figure is exact.
 */
const redisUrl = inject('redisUrl');
const maxQueueDepth = 20;
let api: InProcessApi;
let queue: Queue;
let hand: Worker;

beforeAll(async () => {
  api = await startInProcessApi(
    testConfig(redisUrl, { WORKER_GRACE_SECONDS: '3600', MAX_QUEUE_DEPTH: String(maxQueueDepth) }),
  );
  const connection = connectRedis(api.config.redis.target!, 'blocking');
  queue = new Queue(defaultJobQueue(api.config.queue.name), { connection, prefix: keyPrefix });
  hand = new Worker(queue.name, null, { connection, prefix: keyPrefix });
});
afterAll(async () => {
  await hand?.close();
  await queue?.close();
  await api?.close();
});

interface Signals {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  failed: number;
  capacity: number;
  paused: number;
  oldest: number;
}

async function signals(): Promise<Signals> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const labels = { queue: queue.name, model: defaultModelName };
  const jobs = (state: string) => sample(text, 'resnet_queue_jobs', { ...labels, state }) ?? NaN;
  return {
    waiting: jobs('waiting'),
    prioritized: jobs('prioritized'),
    delayed: jobs('delayed'),
    active: jobs('active'),
    failed: jobs('failed'),
    capacity: sample(text, 'resnet_queue_capacity_ratio', labels) ?? NaN,
    paused: sample(text, 'resnet_queue_paused', labels) ?? NaN,
    oldest: sample(text, 'resnet_queue_oldest_waiting_seconds', labels) ?? NaN,
  };
}

/** The signals but the oldest job's age, which only has to be there (it grows with the clock). */
async function counts(): Promise<Omit<Signals, 'oldest'>> {
  const { oldest, ...rest } = await signals();
  expect(oldest).toBeGreaterThanOrEqual(0);
  return rest;
}

const none = { waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0, capacity: 0, paused: 0 };

describe('the queue signals on /metrics', () => {
  it('move as jobs are added, prioritized, paused, started, retried, failed and finished', async () => {
    const photo = await image('orange.jpg');
    expect(await signals()).toEqual({ ...none, oldest: 0 });

    for (let i = 0; i < 2; i++) expect((await postImage(api.url, photo)).status).toBe(202);
    expect(await counts()).toEqual({ ...none, waiting: 2, capacity: 2 / maxQueueDepth });
    expect((await signals()).oldest).toBeGreaterThan(0);

    // Bulk jobs wait in BullMQ's prioritized set: they are depth too.
    for (let i = 0; i < 2; i++) expect((await postImage(api.url, photo, { query: '?priority=bulk' })).status).toBe(202);
    expect(await counts()).toEqual({ ...none, waiting: 2, prioritized: 2, capacity: 4 / maxQueueDepth });

    const batch = new FormData();
    for (let i = 0; i < 3; i++) batch.append('image', new Blob([new Uint8Array(photo)]), `${i}.jpg`);
    expect((await fetch(`${api.url}/batches`, { method: 'POST', body: batch })).status).toBe(202);
    expect(await counts()).toEqual({ ...none, waiting: 2, prioritized: 5, capacity: 7 / maxQueueDepth });

    await queue.pause();
    expect(await counts()).toEqual({ ...none, waiting: 2, prioritized: 5, capacity: 7 / maxQueueDepth, paused: 1 });
    await queue.resume();

    const token = randomUUID();
    const first = await hand.getNextJob(token);
    expect(await counts()).toEqual({ ...none, waiting: 1, prioritized: 5, active: 1, capacity: 7 / maxQueueDepth });

    // A transient failure: the job waits out its retry backoff, and is still depth.
    await first.moveToFailed(new Error('transient'), token, false);
    expect(await counts()).toEqual({ ...none, waiting: 1, prioritized: 5, delayed: 1, capacity: 7 / maxQueueDepth });

    const second = await hand.getNextJob(token);
    await second.moveToFailed(new UnrecoverableError('permanent'), token, false);
    expect(await counts()).toEqual({ ...none, prioritized: 5, delayed: 1, failed: 1, capacity: 6 / maxQueueDepth });

    const bulk = await hand.getNextJob(token);
    expect(bulk.opts.priority).toBeGreaterThan(0);
    await bulk.moveToCompleted({ predictions: [] }, token, false);
    expect(await counts()).toEqual({ ...none, prioritized: 4, delayed: 1, failed: 1, capacity: 5 / maxQueueDepth });
  });
});
