import { randomUUID } from 'node:crypto';
import { Job } from 'bullmq';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import type { JobData } from '../../src/queue/job-schemas.js';
import { get, image, postImage, type ErrorBody, type JobBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

const redisUrl = inject('redisUrl');
const alpha = { Authorization: 'Bearer alpha-key-0123456789' };
const beta = { Authorization: 'Bearer beta-key-9876543210' };
const maxQueueDepth = 3;
const started: InProcessApi[] = [];

/**
 * An API of its own for each test (queue depth, rate budget and jobs are per queue, so tests do
 * not depend on each other's order), with two clients and no worker until a test starts one: jobs
 * stay queued, so queue depth and cancellation are deterministic.
 */
async function policyApi(): Promise<InProcessApi> {
  const api = await startInProcessApi(
    testConfig(redisUrl, {
      MAX_QUEUE_DEPTH: String(maxQueueDepth),
      API_KEYS: 'alpha-key-0123456789, beta-key-9876543210',
      RATE_LIMIT_PER_MINUTE: '45',
      // Submissions are accepted without a worker for as long as the file runs.
      WORKER_GRACE_SECONDS: '3600',
    }),
  );
  started.push(api);
  return api;
}

afterAll(async () => {
  for (const api of started) await api.close();
});

/** Fills the queue to its depth with alpha's jobs, returning them. */
async function fillQueue(url: string): Promise<JobBody[]> {
  const bytes = await image('orange.jpg');
  const jobs: JobBody[] = [];
  for (let i = 0; i < maxQueueDepth; i++) {
    const res = await postImage(url, bytes, { headers: alpha });
    expect(res.status).toBe(202);
    jobs.push(res.body);
  }
  return jobs;
}

describe('client policies', () => {
  it('API keys: missing or wrong → 401; health stays open', async () => {
    const { url } = await policyApi();
    const bytes = await image('orange.jpg');
    const none = await postImage<ErrorBody>(url, bytes);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await postImage<ErrorBody>(url, bytes, { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await get(url, '/healthz')).status).toBe(200);
  });

  it('a job is visible only to the key that created it', async () => {
    const { url } = await policyApi();
    const res = await postImage(url, await image('orange.jpg'), { headers: alpha });
    expect(res.status).toBe(202);
    const id = res.body.id;
    expect((await get(url, `/jobs/${id}`, { headers: alpha })).status).toBe(200);
    expect((await get<ErrorBody>(url, `/jobs/${id}`, { headers: beta })).status).toBe(404);
    expect((await get(url, `/jobs/${id}/wait?timeout=0`, { headers: beta })).status).toBe(404);
    expect((await get(url, `/jobs/${id}`, { headers: beta, method: 'DELETE' })).status).toBe(404);
    expect((await get(url, `/jobs/${id}`, { headers: alpha })).body.status).toBe('queued');
  });

  it('Idempotency-Key returns the same job for the same key and client', async () => {
    const { url } = await policyApi();
    const bytes = await image('eagle.jpg');
    const key = { 'Idempotency-Key': randomUUID() };
    const [first, second] = await Promise.all([
      postImage(url, bytes, { headers: { ...alpha, ...key } }),
      postImage(url, bytes, { headers: { ...alpha, ...key } }),
    ]);
    expect(first.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect([first, second].filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(1);
    const other = await postImage(url, bytes, { headers: { ...beta, ...key } });
    expect(other.status).toBe(202);
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('a full queue answers 429 with Retry-After before reading the upload', async () => {
    const { url } = await policyApi();
    await fillQueue(url);
    const full = await postImage<ErrorBody>(url, Buffer.from('not even an image'), { headers: alpha });
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe('queue_full');
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('DELETE cancels a queued job: 200, then it reads as failed/cancelled and frees its place', async () => {
    const { url } = await policyApi();
    const [queued] = await fillQueue(url);
    const bytes = await image('baboon.jpg');
    expect((await postImage(url, bytes, { headers: alpha })).status).toBe(429);
    const cancelled = await get(url, `/jobs/${queued!.id}`, { headers: alpha, method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect((await get(url, `/jobs/${queued!.id}`, { headers: alpha })).body.error!.code).toBe('cancelled');
    expect((await get(url, `/jobs/${queued!.id}/wait?timeout=5`, { headers: alpha })).status).toBe(200);
    expect((await postImage(url, bytes, { headers: alpha })).status).toBe(202);
  });

  it('a job past its deadline fails as expired; a fresh one completes and is then not cancellable', async () => {
    const api = await policyApi();
    const { url } = api;
    const late = await postImage(url, await image('baboon.jpg'), { headers: alpha, query: '?deadline=1' });
    expect(late.status).toBe(202);
    const queued = await Job.fromId<JobData>(api.deps.operators.queues[0]!, late.body.id);
    const deadlineAt = queued!.data.deadlineAt!;
    // The worker compares its clock with the job's deadline: start it only once that has passed.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(deadlineAt), { timeout: 10_000, interval: 50 });
    await api.startWorker();
    const expired = await get(url, `/jobs/${late.body.id}/wait?timeout=60`, { headers: alpha });
    expect(expired.status).toBe(200);
    expect(expired.body).toMatchObject({ status: 'failed', error: { code: 'expired' } });
    const fresh = await postImage(url, await image('orange.jpg'), { headers: alpha, query: '?deadline=600' });
    const done = await get(url, `/jobs/${fresh.body.id}/wait?timeout=60`, { headers: alpha });
    expect(done.body.status).toBe('completed');
    const finished = await get<ErrorBody>(url, `/jobs/${fresh.body.id}`, { headers: alpha, method: 'DELETE' });
    expect(finished.status).toBe(409);
    expect(finished.body.error.code).toBe('not_cancellable');
  });

  it('per-client rate limit answers 429 with Retry-After once the minute is used up', async () => {
    const { url } = await policyApi();
    let limited: Awaited<ReturnType<typeof get<ErrorBody>>> | undefined;
    // 100 tries: enough to exhaust 45 even if a new minute window starts midway.
    for (let i = 0; i < 100 && !limited; i++) {
      const res = await get<ErrorBody>(url, `/jobs/${randomUUID()}`, { headers: beta });
      if (res.status === 429) limited = res;
    }
    expect(limited?.body.error.code).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // alpha has its own budget
    expect((await get(url, `/jobs/${randomUUID()}`, { headers: alpha })).status).toBe(404);
  });
});
