import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { queueKeys } from '../../src/queue/keys.js';
import { get, image, postImage, type ErrorBody } from '../support/http.js';
import { defaultJobQueue } from '../support/paths.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

/** The harness's Redis has no replica, so no submission can be acknowledged by one. */
describe('SUBMIT_DURABLE_REPLICAS=1 without a replica', () => {
  let app: InProcessApi;
  beforeAll(async () => {
    app = await startInProcessApi(
      testConfig(inject('redisUrl'), { SUBMIT_DURABLE_REPLICAS: '1', SUBMIT_DURABLE_TIMEOUT_MS: '10' }),
    );
  });
  afterAll(() => app?.close());

  it('answers 503 + Retry-After naming the accepted job; so does a retry with the same Idempotency-Key', async () => {
    const bytes = await image('orange.jpg');
    const headers = { 'Idempotency-Key': randomUUID() };
    const first = await postImage<ErrorBody>(app.url, bytes, { headers });
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe('unavailable');
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    // Issue 21, F12: the answer names the accepted job, which exists and can be followed.
    const location = first.headers.get('location')!;
    const id = /^\/jobs\/([0-9a-f-]{36})$/.exec(location)![1]!;
    expect(first.body.error.message).toContain(`job ${id} was accepted but not yet replicated`);
    expect((await get(app.url, location)).body).toMatchObject({ id, status: 'queued' });
    // The job exists on the master, but a replay is no more durable than the first answer.
    const replay = await postImage<ErrorBody>(app.url, bytes, { headers });
    expect(replay.status).toBe(503);
    expect(replay.body.error.code).toBe('unavailable');
    expect(replay.headers.get('location')).toBe(location);
  });
});

/** A batch of `photos` as POST /batches sends it. */
function batchForm(photos: Buffer[]): FormData {
  const form = new FormData();
  photos.forEach((bytes, i) => form.append('image', new Blob([new Uint8Array(bytes)]), `${i}.jpg`));
  return form;
}

describe('POST /batches under SUBMIT_DURABLE_REPLICAS=1 without a replica', () => {
  let app: InProcessApi;
  beforeAll(async () => {
    app = await startInProcessApi(
      testConfig(inject('redisUrl'), { SUBMIT_DURABLE_REPLICAS: '1', SUBMIT_DURABLE_TIMEOUT_MS: '10' }),
    );
  });
  afterAll(() => app?.close());

  it('answers 503 + Retry-After like a single job, and so does a retry with the same Idempotency-Key', async () => {
    const photo = await image('orange.jpg');
    const headers = { 'Idempotency-Key': randomUUID() };
    for (const attempt of ['first', 'replay']) {
      const res = await fetch(`${app.url}/batches`, { method: 'POST', body: batchForm([photo, photo]), headers });
      const body = (await res.json()) as ErrorBody;
      expect(res.status, attempt).toBe(503);
      expect(body.error.code).toBe('unavailable');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });
});

describe('POST /batches with an Idempotency-Key', () => {
  let app: InProcessApi;
  beforeAll(async () => {
    app = await startInProcessApi(testConfig(inject('redisUrl'), { WORKER_GRACE_SECONDS: '3600' }));
  });
  afterAll(() => app?.close());

  it('returns the batch the key created, keeps no crop of the replayed upload, and scopes keys by caller', async () => {
    const photo = await image('orange.jpg');
    const post = (key: string) =>
      fetch(`${app.url}/batches`, {
        method: 'POST',
        body: batchForm([photo, photo]),
        headers: { 'Idempotency-Key': key },
      });
    const inputs = async () =>
      (await app.deps.redis.keys(queueKeys(defaultJobQueue(app.config.queue.name)).input('*'))).length;
    const key = randomUUID();
    const first = await post(key);
    expect(first.status).toBe(202);
    const created = (await first.json()) as { id: string };
    expect(await inputs()).toBe(2);
    const replay = await post(key);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as { id: string }).id).toBe(created.id);
    expect(await inputs()).toBe(2);
    const other = await post(randomUUID());
    expect(((await other.json()) as { id: string }).id).not.toBe(created.id);
    expect(await inputs()).toBe(4);
  });
});
