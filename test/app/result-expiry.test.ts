/**
 * RESULT_TTL_SECONDS is enforced on an idle queue (issue 21, F15): BullMQ removes old finished jobs
 * only when another job finishes, so a lone job used to outlive its TTL; the workers' periodic
 * expiry removes it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { get, image, submitAndWait } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { until } from '../support/wait.js';

let api: InProcessApi;

beforeAll(async () => {
  api = await startInProcessApi(testConfig(inject('redisUrl'), { RESULT_TTL_SECONDS: '1' }));
  await api.startWorker();
});
afterAll(async () => {
  await api?.close();
});

describe('RESULT_TTL_SECONDS', () => {
  it('a finished job on an otherwise idle queue answers 404 once its TTL has passed', async () => {
    const job = await submitAndWait(api.url, await image('orange.jpg'));
    expect(job.status).toBe('completed');
    await until('the job expired', async () => (await get(api.url, `/jobs/${job.id}`)).status === 404, 15_000);
  });
});
