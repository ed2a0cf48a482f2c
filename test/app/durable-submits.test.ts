import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { get, image, postImage, type ErrorBody } from '../support/http.js';
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
