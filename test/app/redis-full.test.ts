/**
 * A Redis with little memory (issue 21, F3/F4), `noeviction` as SECURITY.md requires: the API stops
 * taking work while Redis holds 90% of its maxmemory (503 redis_full), batches check the room
 * before each crop is stored, and a worker started on the full Redis drains what was accepted.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../src/redis-server.js';
import { get, postImage, type ErrorBody, type JobBody, type Reply } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { until } from '../support/wait.js';

let noise: Buffer;
const servers: RedisServer[] = [];
const services: InProcessApi[] = [];

/** An API on a Redis of its own with an 8 MB maxmemory. */
async function serve(env: Record<string, string>): Promise<InProcessApi> {
  const redis = await startRedisServer({ dieWithParent: true, extraArgs: ['--maxmemory', '8mb'] });
  servers.push(redis);
  const api = await startInProcessApi(testConfig(redis.url, { WORKER_GRACE_SECONDS: '3600', ...env }));
  services.push(api);
  return api;
}

beforeAll(async () => {
  // Noise does not compress: each crop costs Redis about 150 KB.
  noise = await sharp(randomBytes(256 * 256 * 3), { raw: { width: 256, height: 256, channels: 3 } })
    .png()
    .toBuffer();
});
afterAll(async () => {
  for (const api of services) await api.close();
  for (const redis of servers) await redis.stop();
});

function batchForm(images: number): FormData {
  const form = new FormData();
  for (let i = 0; i < images; i++) form.append('image', new Blob([new Uint8Array(noise)]), `${i}.png`);
  return form;
}

describe('a small Redis', () => {
  it('fills to its share, then answers 503 redis_full; a worker started then drains every accepted job', async () => {
    const api = await serve({ MAX_QUEUE_DEPTH: '0' });
    const accepted: string[] = [];
    let refused: Reply<ErrorBody> | undefined;
    for (let i = 0; i < 400 && !refused; i++) {
      const res = await postImage<JobBody | ErrorBody>(api.url, noise);
      if (res.status === 202) accepted.push((res.body as JobBody).id);
      else refused = res as Reply<ErrorBody>;
    }
    expect(accepted.length).toBeGreaterThan(10);
    expect(refused?.status).toBe(503);
    expect(refused?.body.error.code).toBe('redis_full');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    // F4: a batch meets the same limit before its crops are stored, not Redis's OOM.
    const batch = await fetch(`${api.url}/batches`, { method: 'POST', body: batchForm(20) });
    expect(batch.status).toBe(503);
    expect(((await batch.json()) as ErrorBody).error.code).toBe('redis_full');
    // The worker starts on the nearly full Redis and completes everything accepted.
    await api.startWorker();
    for (const id of accepted) {
      await until(`job ${id} completed`, async () => (await get(api.url, `/jobs/${id}`)).body.status === 'completed');
    }
    await until('room again', async () => (await postImage(api.url, noise)).status === 202);
  });

  it('a batch stops at MAX_QUEUE_DEPTH before storing the crops that would not fit (F4)', async () => {
    const api = await serve({ MAX_QUEUE_DEPTH: '10' });
    for (let i = 0; i < 9; i++) expect((await postImage(api.url, noise)).status).toBe(202);
    const batch = await fetch(`${api.url}/batches`, { method: 'POST', body: batchForm(60) });
    // 60 crops would not fit this Redis at all: refused on the queue's count, not on Redis memory.
    expect(batch.status).toBe(429);
    expect(((await batch.json()) as ErrorBody).error.code).toBe('queue_full');
    const store = api.deps.models.defaultModel.store;
    expect(await store.depth()).toBe(9);
  });
});
