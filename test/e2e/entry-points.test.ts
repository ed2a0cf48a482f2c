import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/redis-server.js';
import { get, image, postImage, type ErrorBody } from '../support/http.js';
import { spawnEntry, stopChild, waitForReady } from '../support/service.js';
import { defaultJobQueue } from '../support/paths.js';

async function exitOf(child: ReturnType<typeof spawnEntry>['child']): Promise<number | null> {
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('start-up', () => {
  it('a bad variable stops start-up with a message naming it', async () => {
    const { child, output } = spawnEntry('main', { PORT: 'eighty', MAX_BATCH_DELAY_MS: '-5' });
    expect(await exitOf(child)).toBe(1);
    expect(output()).toMatch(/PORT/);
    expect(output()).toMatch(/MAX_BATCH_DELAY_MS/);
  });

  it('without REDIS_URL and without redis-server it exits with one sentence saying what to do', async () => {
    const { child, output } = spawnEntry('main', { PATH: '/nonexistent' });
    expect(await exitOf(child)).toBe(1);
    expect(output()).toMatch(/set REDIS_URL .*install redis-server/);
  });

  it('without REDIS_URL it runs a private redis-server, and stops it on exit', async () => {
    const port = await freePort();
    const { child, output } = spawnEntry('main', { PORT: String(port), HOST: '127.0.0.1' });
    const url = `http://127.0.0.1:${port}`;
    await waitForReady(url, child, output);
    const redisUrl = /"url":"(redis:\/\/127\.0\.0\.1:\d+)"/.exec(output())?.[1];
    expect(redisUrl).toBeDefined();
    // One line for people once the worker has its model (it may trail readiness by a log write).
    await expect
      .poll(() => output())
      .toMatch(
        new RegExp(
          `"msg":"ready: ${url}/ · docs ${url}/docs · ` +
            `dashboard off \\(set DASHBOARD_USER \\+ DASHBOARD_PASSWORD\\) · ` +
            `model resnet50-v1\\.5-int8 · 1 worker · Redis embedded`,
        ),
      );
    // Successful health probes (waitForReady's) log at debug, below the default level.
    expect(output()).not.toMatch(/"path":"\/readyz","status":200/);
    const res = await postImage(url, await image('orange.jpg'), { route: '/predict' });
    expect(res.status).toBe(200);
    expect(await stopChild(child)).toBe(0);
    const probe = new Redis(redisUrl!, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    await expect(probe.connect()).rejects.toThrow();
  });
});

describe('API and worker as separate processes', () => {
  const redisUrl = inject('redisUrl');
  const queueName = `split-${randomUUID().slice(0, 8)}`;
  const children: ReturnType<typeof spawnEntry>['child'][] = [];
  afterAll(async () => {
    for (const child of children) expect(await stopChild(child)).toBe(0);
  });

  it('is not ready without a worker, queues jobs small, and a worker started later runs them', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = spawnEntry('api/main', {
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_NAME: queueName,
    });
    children.push(api.child);
    await waitForReady(url, api.child, api.output, 60_000, '/healthz');
    const ready = await get<ErrorBody>(url, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('no_worker');

    const submitted = await postImage(url, await image('coffee.png'));
    expect(submitted.status).toBe(202);
    const redis = new Redis(redisUrl);
    const key = `bull:${defaultJobQueue(queueName)}:input:${submitted.body.id}`;
    try {
      const bytes = await redis.strlen(key);
      expect(bytes).toBeGreaterThan(10_000);
      expect(bytes).toBeLessThan(160 * 1024);
      expect(await redis.ttl(key)).toBeGreaterThan(3600);

      // With no worker the wait runs out: 202 with the current view, the job still queued.
      const timedOut = await get(url, `/jobs/${submitted.body.id}/wait?timeout=1`);
      expect(timedOut.status).toBe(202);
      expect(timedOut.body.status).toBe('queued');

      const waiting = get(url, `/jobs/${submitted.body.id}/wait?timeout=60`);
      const worker = spawnEntry('worker/main', { REDIS_URL: redisUrl, QUEUE_NAME: queueName });
      children.push(worker.child);
      const done = await waiting;
      expect(done.status).toBe(200);
      expect(done.body.result!.predictions[0]!.label).toBe('espresso');
      expect(await redis.exists(key)).toBe(0);
      expect((await get(url, '/readyz')).status).toBe(200);
    } finally {
      redis.disconnect();
    }
  });
});
