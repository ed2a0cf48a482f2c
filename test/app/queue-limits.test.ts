import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { queueKeys } from '../../src/queue/keys.js';
import { get, postImage, type ErrorBody, type JobBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { defaultJobQueue } from '../support/paths.js';

/**
 * Issue 9 §4: MAX_QUEUE_DEPTH holds exactly under concurrency (batches included), and an
 * Idempotency-Key is scoped to its caller. No worker runs (the start-up grace admits jobs), so
 * every admitted job stays queued.
 */
const redisUrl = inject('redisUrl');
const maxQueueDepth = 50;
let redis: Redis;
let photo: Buffer;
const apis: InProcessApi[] = [];

async function start(env: Record<string, string>): Promise<InProcessApi> {
  const api = await startInProcessApi(testConfig(redisUrl, env));
  apis.push(api);
  return api;
}

beforeAll(async () => {
  redis = new Redis(redisUrl);
  // Small, so 200 uploads at once measure the admission and not the decoder.
  photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 120, b: 40 } } })
    .png()
    .toBuffer();
});
afterAll(async () => {
  for (const api of apis) await api.close();
  redis.disconnect();
});

/** Posts a batch of `count` copies of the photo. */
async function postBatch(url: string, count: number) {
  const form = new FormData();
  for (let i = 0; i < count; i++) form.append('image', new Blob([new Uint8Array(photo)]), `p${i}.png`);
  const res = await fetch(`${url}/batches`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as ErrorBody };
}

describe('MAX_QUEUE_DEPTH under concurrent submissions', () => {
  for (const concurrent of [50, 200]) {
    it(`${concurrent} concurrent submits: exactly ${maxQueueDepth} admitted, the rest 429 queue_full`, async () => {
      // Room for every upload at once: the limit under test is the queue's, not the upload admission's.
      const api = await start({
        MAX_QUEUE_DEPTH: String(maxQueueDepth),
        RATE_LIMIT_PER_MINUTE: '0',
        MAX_CONCURRENT_UPLOADS: '1000',
      });
      const replies = await Promise.all(
        Array.from({ length: concurrent }, () => postImage<JobBody | ErrorBody>(api.url, photo)),
      );
      const statuses = replies.map((r) => r.status);
      expect(statuses.filter((s) => s === 202)).toHaveLength(Math.min(concurrent, maxQueueDepth));
      expect(statuses.filter((s) => s === 429)).toHaveLength(Math.max(0, concurrent - maxQueueDepth));
      for (const refused of replies.filter((r) => r.status === 429)) {
        expect((refused.body as ErrorBody).error.code).toBe('queue_full');
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(await api.deps.models.defaultModel.store.depth()).toBe(maxQueueDepth);
      // Every reservation was released once its job existed (or it was refused).
      expect(await redis.zcard(queueKeys(defaultJobQueue(api.config.queue.name)).admissions)).toBe(0);
    });
  }

  it('a batch is admitted whole or not at all, and a cancelled job frees its place', async () => {
    const api = await start({ MAX_QUEUE_DEPTH: '3', RATE_LIMIT_PER_MINUTE: '0' });
    const first = await postImage(api.url, photo);
    expect(first.status).toBe(202);
    const tooMany = await postBatch(api.url, 3);
    expect(tooMany.status).toBe(429);
    expect(tooMany.body.error.code).toBe('queue_full');
    expect(await api.deps.models.defaultModel.store.depth()).toBe(1);
    // Concurrent batches of two into the two free places: one fits, the other is refused.
    const racing = await Promise.all([postBatch(api.url, 2), postBatch(api.url, 2), postBatch(api.url, 2)]);
    expect(racing.map((r) => r.status).sort()).toEqual([202, 429, 429]);
    expect(await api.deps.models.defaultModel.store.depth()).toBe(3);
    expect((await postImage<ErrorBody>(api.url, photo)).status).toBe(429);
    expect((await get(api.url, `/jobs/${first.body.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await postImage(api.url, photo)).status).toBe(202);
    expect(await redis.zcard(queueKeys(defaultJobQueue(api.config.queue.name)).admissions)).toBe(0);
  });
});

describe('Idempotency-Key is scoped to the caller', () => {
  it('open API: the same key from another address makes a new job; from the same address it replays', async () => {
    const api = await start({ TRUST_PROXY: '1', RATE_LIMIT_PER_MINUTE: '0' });
    const from = (ip: string) => ({ 'X-Forwarded-For': ip, 'Idempotency-Key': 'order-17' });
    const a = await postImage(api.url, photo, { headers: from('203.0.113.1') });
    const b = await postImage(api.url, photo, { headers: from('203.0.113.2') });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    const again = await postImage(api.url, photo, { headers: from('203.0.113.1') });
    expect(again.body.id).toBe(a.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it("API keys: the same key under another API key makes a new job, never returns the other caller's", async () => {
    const api = await start({ API_KEYS: 'alpha-key-0123456789,beta-key-9876543210', RATE_LIMIT_PER_MINUTE: '0' });
    const as = (key: string) => ({ Authorization: `Bearer ${key}`, 'Idempotency-Key': 'order-17' });
    const a = await postImage(api.url, photo, { headers: as('alpha-key-0123456789') });
    const b = await postImage(api.url, photo, { headers: as('beta-key-9876543210') });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.id).not.toBe(a.body.id);
    expect((await postImage(api.url, photo, { headers: as('alpha-key-0123456789') })).body.id).toBe(a.body.id);
  });
});
