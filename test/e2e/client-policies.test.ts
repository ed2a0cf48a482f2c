import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/redis-server.js';
import { get, image, postImage, type ErrorBody, type JobBody } from '../support/http.js';
import { spawnEntry, stopChild, waitForReady } from '../support/service.js';

const redisUrl = inject('redisUrl');
const queueName = `policies-${randomUUID().slice(0, 8)}`;
const children: ReturnType<typeof spawnEntry>['child'][] = [];
let url: string;
const alpha = { Authorization: 'Bearer alpha-key-0123456789' };
const beta = { Authorization: 'Bearer beta-key-9876543210' };

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // No worker yet: jobs stay queued, so queue depth and cancellation are deterministic.
  const api = spawnEntry('api/main', {
    REDIS_URL: redisUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    QUEUE_NAME: queueName,
    MAX_QUEUE_DEPTH: '3',
    API_KEYS: 'alpha-key-0123456789, beta-key-9876543210',
    RATE_LIMIT_PER_MINUTE: '45',
  });
  children.push(api.child);
  await waitForReady(url, api.child, api.output, 60_000, '/healthz');
});
afterAll(async () => {
  for (const child of children) expect(await stopChild(child)).toBe(0);
});

describe('client policies', () => {
  let alphaJob: JobBody;

  it('API keys: missing or wrong → 401; health stays open', async () => {
    const bytes = await image('orange.jpg');
    const none = await postImage<ErrorBody>(url, bytes);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await postImage<ErrorBody>(url, bytes, { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await get(url, '/healthz')).status).toBe(200);
  });

  it('a job is visible only to the key that created it', async () => {
    const res = await postImage(url, await image('orange.jpg'), { headers: alpha, query: '?deadline=1' });
    expect(res.status).toBe(202);
    alphaJob = res.body;
    expect((await get(url, `/jobs/${alphaJob.id}`, { headers: alpha })).status).toBe(200);
    expect((await get<ErrorBody>(url, `/jobs/${alphaJob.id}`, { headers: beta })).status).toBe(404);
    expect((await get(url, `/jobs/${alphaJob.id}/wait?timeout=0`, { headers: beta })).status).toBe(404);
    expect((await get(url, `/jobs/${alphaJob.id}`, { headers: beta, method: 'DELETE' })).status).toBe(404);
  });

  it('Idempotency-Key returns the same job for the same key and client', async () => {
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
    const full = await postImage<ErrorBody>(url, Buffer.from('not even an image'), { headers: alpha });
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe('queue_full');
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('DELETE cancels a queued job: 200, then it reads as failed/cancelled and frees its place', async () => {
    const bytes = await image('baboon.jpg');
    const cancelled = await get(url, `/jobs/${alphaJob.id}`, { headers: alpha, method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect((await get(url, `/jobs/${alphaJob.id}`, { headers: alpha })).body.error!.code).toBe('cancelled');
    expect((await get(url, `/jobs/${alphaJob.id}/wait?timeout=5`, { headers: alpha })).status).toBe(200);
    const again = await postImage(url, bytes, { headers: alpha, query: '?deadline=1' });
    expect(again.status).toBe(202);
    alphaJob = again.body;
  });

  it('a job whose deadline passed before it started fails with expired; others complete; finished jobs are not cancellable', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const worker = spawnEntry('worker/main', { REDIS_URL: redisUrl, QUEUE_NAME: queueName });
    children.push(worker.child);
    const expired = await get(url, `/jobs/${alphaJob.id}/wait?timeout=60`, { headers: alpha });
    expect(expired.status).toBe(200);
    expect(expired.body).toMatchObject({ status: 'failed', error: { code: 'expired' } });
    const fresh = await postImage(url, await image('orange.jpg'), { headers: alpha, query: '?deadline=600' });
    const done = await get(url, `/jobs/${fresh.body.id}/wait?timeout=60`, { headers: alpha });
    expect(done.body.status).toBe('completed');
    const late = await get<ErrorBody>(url, `/jobs/${fresh.body.id}`, { headers: alpha, method: 'DELETE' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('not_cancellable');
  });

  it('per-client rate limit answers 429 with Retry-After once the minute is used up', async () => {
    let limited: Awaited<ReturnType<typeof get<ErrorBody>>> | undefined;
    // 100 tries: enough to exhaust 45 even if a new minute window starts midway.
    for (let i = 0; i < 100 && !limited; i++) {
      const res = await get<ErrorBody>(url, `/jobs/${randomUUID()}`, { headers: beta });
      if (res.status === 429) limited = res;
    }
    expect(limited?.body.error.code).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // alpha has its own budget
    expect((await get(url, `/jobs/${alphaJob.id}`, { headers: alpha })).status).not.toBe(429);
  });
});
