/**
 * A Redis that stops answering without closing its socket (SIGSTOP: a paused VM, a swap storm, a
 * partition) must not hang the API (issue 21, F7): every request-path command has a timeout, so
 * readiness, reads and submissions answer 503 within REDIS_COMMAND_TIMEOUT_MS.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../src/redis-server.js';
import { get, image, postImage, type ErrorBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

let redis: RedisServer;
let api: InProcessApi;

beforeAll(async () => {
  redis = await startRedisServer({ dieWithParent: true });
  api = await startInProcessApi(
    testConfig(redis.url, { REDIS_COMMAND_TIMEOUT_MS: '300', WORKER_GRACE_SECONDS: '3600' }),
  );
});
afterAll(async () => {
  process.kill(redis.pid, 'SIGCONT');
  await api?.close();
  await redis?.stop();
});

describe('a paused Redis (F7)', () => {
  it('readiness, reads and submissions answer 503 instead of hanging; all recover when it resumes', async () => {
    const accepted = await postImage(api.url, await image('orange.jpg'));
    expect(accepted.status).toBe(202);
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const answers = await Promise.all([
        get<ErrorBody>(api.url, '/readyz'),
        get<ErrorBody>(api.url, `/jobs/${accepted.body.id}`),
        get<ErrorBody>(api.url, `/jobs/${randomUUID()}/wait?timeout=5`),
        postImage<ErrorBody>(api.url, await image('orange.jpg')),
      ]);
      for (const [i, answer] of answers.entries()) {
        expect(answer.status, `${i} ${JSON.stringify(answer.body)}`).toBe(503);
        expect(answer.body.error.code).toBe('unavailable');
      }
      // Metrics answer without the queue depth rather than waiting for it.
      expect((await get(api.url, '/metrics')).status).toBe(200);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    expect((await get(api.url, `/jobs/${accepted.body.id}`)).status).toBe(200);
  });
});
