import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../src/redis-server.js';
import { get, image, postImage, type ErrorBody, type JobBody, type Reply } from '../support/http.js';
import { until } from '../support/wait.js';
import {
  completionCounter,
  report,
  startCluster,
  submitMany,
  tally,
  waitAllTerminal,
  waitForLog,
  type Cluster,
} from './harness.js';

describe('Redis restarted (AOF on) while jobs are queued and the API is receiving', () => {
  let redis: RedisServer;
  let cluster: Cluster;
  let dir: string;
  beforeAll(async () => {
    // Our own data directory, so the AOF outlives the first server.
    dir = await mkdtemp(path.join(os.tmpdir(), 'redis-aof-'));
    redis = await startRedisServer({ appendOnly: true, dir });
    cluster = await startCluster(redis.url);
  });
  afterAll(async () => {
    await cluster.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 + Retry-After during the outage, keeps every queued job, and reconnects by itself', async () => {
    const jobs = await submitMany(cluster.url, 100);
    const worker = cluster.startWorker();
    await waitForLog(worker, /"msg":"batch"/);

    const { port } = redis;
    await redis.stop();
    const downAt = Date.now();
    const bytes = await image('orange.jpg');
    // Answered at once from the failed Redis command (no offline queue), not after a hang.
    const during = await postImage<ErrorBody>(cluster.url, bytes);
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('unavailable');
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.stringify(during.body)).not.toMatch(/at |\/work\/|node_modules/);
    expect((await get<ErrorBody>(cluster.url, `/jobs/${jobs[0]!.id}`)).status).toBe(503);
    expect((await get(cluster.url, '/healthz')).status).toBe(200);

    redis = await startRedisServer({ port, dir, appendOnly: true });
    const upAt = Date.now();
    const counter = await completionCounter(redis.url, cluster.queueName);
    // New work after the restart, waited for through the (reconnected) shared QueueEvents.
    let after: Reply<JobBody> | undefined;
    await until('the API to accept submissions again', async () => {
      after = await postImage(cluster.url, bytes);
      return after.status === 202;
    });
    const acceptingSeconds = (Date.now() - upAt) / 1000;
    const views = await waitAllTerminal(cluster.url, jobs);
    const counts = tally(jobs, views, counter.counts);
    const waited = await get(cluster.url, `${after!.body.links.wait}?timeout=30`);
    expect(waited.status).toBe(200);
    expect(waited.body.result!.predictions[0]!.label).toBe('orange');
    const lastFinish = Math.max(...[...views.values()].map((v) => Date.parse(v.finishedAt ?? '0')));
    await counter.close();
    await report({
      fault: 'Redis stopped and restarted (AOF) with jobs queued',
      happened:
        'submissions during the outage got 503 + Retry-After; ' +
        `the API accepted again ${acceptingSeconds.toFixed(1)} s after Redis came back; ` +
        'the worker and QueueEvents reconnected on their own',
      submitted: jobs.length,
      ...counts,
      recoverySeconds: (lastFinish - downAt) / 1000,
    });
    expect(counts).toMatchObject({ completed: 100, failed: 0, wrong: 0, duplicated: 0, lost: 0 });
  });
});
