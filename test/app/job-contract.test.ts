import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { InputStore } from '../../src/queue/input-store.js';
import { keyPrefix, queueKeys } from '../../src/queue/keys.js';
import { startRedisServer } from '../../src/redis-server.js';
import { WorkerPresence } from '../../src/queue/worker-presence.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import * as fx from '../support/fixtures.js';
import { defaultJobQueue } from '../support/paths.js';
import { get, image, postImage, type ErrorBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

const redisUrl = inject('redisUrl');
let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl);
});
afterAll(() => {
  redis.disconnect();
});

describe('InputStore.sweep', () => {
  it('deletes inputs of finished and vanished jobs, keeps those of queued jobs and submissions in flight', async () => {
    const queueName = `sweep-${randomUUID().slice(0, 8)}`;
    const keys = queueKeys(queueName);
    const inputs = new InputStore(redis, keys, { ttlSeconds: 3600, orphanGraceSeconds: 60 });
    const queue = new Queue(queueName, { connection: redis, prefix: keyPrefix });
    const events = new QueueEvents(queueName, {
      connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
      prefix: keyPrefix,
    });
    await events.waitUntilReady();
    const id = {
      completed: randomUUID(),
      failed: randomUUID(),
      queued: randomUUID(),
      gone: randomUUID(),
      inFlight: randomUUID(),
    };
    for (const jobId of Object.values(id)) await inputs.put(jobId, Buffer.from('opaque bytes'));
    // A job that vanished long ago: its input is older than the grace period.
    await redis.expire(keys.input(id.gone), 3600 - 120);

    // Real BullMQ outcomes, from a worker that completes one job and fails the other.
    const finished = new Promise<void>((resolve) => {
      let n = 0;
      const count = () => ++n === 2 && resolve();
      events.on('completed', count);
      events.on('failed', count);
    });
    const worker = new Worker(
      queueName,
      (job) => (job.id === id.failed ? Promise.reject(new Error('boom')) : Promise.resolve('ok')),
      { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix: keyPrefix, autorun: false },
    );
    await queue.add('classify', {}, { jobId: id.completed });
    await queue.add('classify', {}, { jobId: id.failed });
    void worker.run();
    await finished;
    await worker.close();
    await queue.add('classify', {}, { jobId: id.queued });

    expect(await inputs.sweep()).toBe(3);
    for (const jobId of [id.completed, id.failed, id.gone])
      expect(await redis.exists(keys.input(jobId)), jobId).toBe(0);
    for (const jobId of [id.queued, id.inFlight]) expect(await redis.exists(keys.input(jobId)), jobId).toBe(1);
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });
});

describe('InputStore round trips', () => {
  it("reads of one tick go as one MGET, a batch's finishes as one MULTI, their forgets as one DEL", async () => {
    const keys = queueKeys(`ticks-${randomUUID().slice(0, 8)}`);
    const inputs = new InputStore(redis, keys, { ttlSeconds: 60 });
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await inputs.put(id, Buffer.from(`crop of ${id}`));
    // What this file's connection sends (other test files share the Redis server).
    const addr = /addr=(\S+)/.exec(String(await redis.client('INFO')))![1];
    const monitor = await new Redis(redisUrl).monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === addr) sent.push(args[0]!.toLowerCase());
    });
    try {
      // Three jobs fetched together, then finished by one batch, then recorded.
      const stored = await Promise.all(ids.map((id) => inputs.get(id)));
      expect(stored.map(String)).toEqual(ids.map((id) => `crop of ${id}`));
      await Promise.all(ids.map((id) => inputs.finish(id, `outcome of ${id}`)));
      for (const id of ids) expect(await redis.get(keys.outcome(id))).toBe(`outcome of ${id}`);
      await Promise.all(ids.map((id) => inputs.forgetOutcome(id)));
      await vi.waitFor(() => expect(sent.filter((c) => c === 'del')).toHaveLength(4));
    } finally {
      monitor.disconnect();
    }
    // The MULTI holds each job's SET of its outcome and DEL of its input.
    expect(sent.filter((c) => c !== 'get')).toEqual([
      'mget',
      'multi',
      ...ids.flatMap(() => ['set', 'del']),
      'exec',
      'del',
    ]);
    for (const id of ids) expect(await redis.exists(keys.input(id), keys.outcome(id))).toBe(0);
  });
});

describe('the API and a worker in one process', () => {
  const config = testConfig(redisUrl);
  const startTestWorker = () => startWorker(config, createLogger('silent', 'test-worker'));
  let api: InProcessApi;
  let worker: RunningWorker;
  beforeAll(async () => {
    worker = await startTestWorker();
    api = await startInProcessApi(config);
  });
  afterAll(async () => {
    await api.close();
    await worker.close();
  });

  it("deletes a job's stored input before anyone can see the job finished", async () => {
    // Each waiter answers at the terminal state; the input must already be gone then, every time.
    const keys = queueKeys(defaultJobQueue(api.config.queue.name));
    const coffee = await image('coffee.png');
    for (let i = 0; i < 5; i++) {
      const submitted = await postImage(api.url, coffee);
      expect(submitted.status).toBe(202);
      expect(await redis.exists(keys.input(submitted.body.id))).toBe(1);
      const done = await get(api.url, `/jobs/${submitted.body.id}/wait?timeout=60`);
      expect(done.body.status).toBe('completed');
      expect(await redis.exists(keys.input(submitted.body.id))).toBe(0);
    }
  });

  it('cancels a queued job with its record and input deletion in one step', async () => {
    const keys = queueKeys(defaultJobQueue(api.config.queue.name));
    await worker.close();
    try {
      const submitted = await postImage(api.url, await image('coffee.png'));
      const cancelled = await get(api.url, `/jobs/${submitted.body.id}`, { method: 'DELETE' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.error?.code).toBe('cancelled');
      expect(await redis.exists(keys.input(submitted.body.id))).toBe(0);
    } finally {
      // The other tests here need a worker, whatever order they run in.
      worker = await startTestWorker();
    }
  });

  it("answers a corrupt image with 422 and a message of its own, not the decoder's", async () => {
    const res = await postImage<ErrorBody>(api.url, await fx.truncatedJpeg());
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('corrupt_image');
    expect(res.body.error.message).not.toMatch(/vips|premature|libjpeg|\n/i);
  });
});

describe('workers announce a loaded model; the API refuses jobs nobody can run', () => {
  it('answers 503 no_worker + Retry-After on POST /jobs, /predict, /readyz until a worker is announced', async () => {
    const api = await startInProcessApi(testConfig(redisUrl, { WORKER_GRACE_SECONDS: '0' }));
    try {
      const coffee = await image('coffee.png');
      for (const route of ['/jobs', '/predict']) {
        const refused = await postImage<Record<string, unknown>>(api.url, coffee, { route });
        expect(refused.status, route).toBe(503);
        expect(refused.headers.get('retry-after'), route).toBe('5');
        expect(JSON.stringify(refused.body), route).toContain('no_worker');
      }
      const ready = await get<ErrorBody>(api.url, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.error.code).toBe('no_worker');

      const presence = new WorkerPresence(redis, queueKeys(defaultJobQueue(api.config.queue.name)));
      await presence.announce('test-worker');
      expect((await postImage(api.url, coffee)).status).toBe(202);
      expect((await get(api.url, '/readyz')).status).toBe(200);
      await presence.withdraw('test-worker');
      expect((await postImage(api.url, coffee)).status).toBe(503);
    } finally {
      await api.close();
    }
  });

  it('accepts jobs during the start-up grace period', async () => {
    const api = await startInProcessApi(testConfig(redisUrl, { WORKER_GRACE_SECONDS: '600' }));
    try {
      expect((await postImage(api.url, await image('coffee.png'))).status).toBe(202);
    } finally {
      await api.close();
    }
  });
});

describe("one error policy: a 5xx never carries a runtime's message", () => {
  it('answers Redis failures with the generic text', async () => {
    const own = await startRedisServer();
    const api = await startInProcessApi(testConfig(own.url, { WORKER_GRACE_SECONDS: '600' }));
    try {
      await own.stop();
      const res = await get<ErrorBody>(api.url, `/jobs/${randomUUID()}`);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(res.body.error.message).not.toMatch(/ECONNREFUSED|connection|closed|stream/i);
    } finally {
      await api.close();
    }
  });
});
