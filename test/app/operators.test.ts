import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi } from '../../src/api/server.js';
import { freePort } from '../../src/redis-server.js';
import { get, image, postImage, submitAndWait, type ErrorBody, type JobBody } from '../support/http.js';
import { captureLogs, startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { metricNames, sample } from '../support/prometheus.js';
import { defaultJobQueue, defaultModelName } from '../support/paths.js';

/**
 * The operator surfaces in process, on two APIs with dashboard credentials and a metrics token, each
 * on a queue of its own. `idle` never has a worker: a job submitted there provably waits, so the
 * queue depth is exact. `worked` has a real worker serving its own metrics port, as
 * WORKER_METRICS_PORT makes src/worker/main.ts do. Either order of the tests holds.
 */
const redisUrl = inject('redisUrl');
const user = 'operator';
const password = 'correct-horse-battery';
const dashboardToken = randomUUID();
const metricsToken = randomUUID();
const basic = { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const secrets = {
  DASHBOARD_USER: user,
  DASHBOARD_PASSWORD: password,
  DASHBOARD_TOKEN: dashboardToken,
  METRICS_TOKEN: metricsToken,
};

let idle: InProcessApi;
let worked: InProcessApi;
let workerUrl: string;
let redis: Redis;
/** The default model's queue of an API. */
const jobQueue = (api: InProcessApi) => defaultJobQueue(api.config.queue.name);

async function apiMetrics(api: InProcessApi): Promise<string> {
  const res = await fetch(`${api.url}/metrics`, { headers: bearer(metricsToken) });
  expect(res.status).toBe(200);
  return res.text();
}

async function workerMetrics(): Promise<string> {
  const res = await fetch(`${workerUrl}/metrics`, { headers: bearer(metricsToken) });
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  const metricsPort = await freePort();
  workerUrl = `http://127.0.0.1:${metricsPort}`;
  [idle, worked] = await Promise.all([
    // Its job is accepted with no worker, however long the tests before it took.
    startInProcessApi(testConfig(redisUrl, { ...secrets, WORKER_GRACE_SECONDS: '3600' })),
    startInProcessApi(
      testConfig(redisUrl, { ...secrets, HOST: '127.0.0.1', WORKER_METRICS_PORT: String(metricsPort) }),
    ),
  ]);
  await worked.startWorker();
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await Promise.all([idle?.close(), worked?.close()]);
});

describe('Bull Board at /admin/queues', () => {
  it('refuses missing or wrong credentials with 401, a challenge per scheme and our JSON error', async () => {
    const wrong = [
      {},
      { Authorization: `Basic ${Buffer.from(`${user}:not-the-password`).toString('base64')}` },
      { Authorization: `Basic ${Buffer.from(`someone:${password}`).toString('base64')}` },
      bearer(`${dashboardToken}x`),
      bearer(metricsToken),
      { Authorization: `Bearer ${Buffer.from(`${user}:${password}`).toString('base64')}` },
    ];
    for (const headers of wrong) {
      for (const [method, path] of [
        ['GET', '/admin/queues'],
        ['GET', '/admin/queues/api/queues'],
        ['PUT', `/admin/queues/api/queues/${jobQueue(idle)}/retry/failed`],
      ] as const) {
        const res = await get<ErrorBody>(idle.url, path, { method, headers });
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="dashboard".*, Bearer realm="dashboard"$/);
        expect(res.body.error.code).toBe('unauthorized');
      }
    }
  });

  it('serves its page and its JSON API, every queue by a readable name, to Basic or Bearer credentials', async () => {
    const page = await fetch(`${idle.url}/admin/queues`, { headers: basic });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<base href="/admin/queues/"');
    for (const headers of [basic, bearer(dashboardToken)]) {
      const api = await get<{ queues: { name: string; displayName?: string }[] }>(
        idle.url,
        '/admin/queues/api/queues',
        { headers },
      );
      expect(api.status).toBe(200);
      // The batch and webhook queues too: webhook retries are otherwise invisible to operators.
      const namespace = idle.config.queue.name;
      expect(api.body.queues.map((q) => [q.name, q.displayName])).toEqual([
        [jobQueue(idle), `${namespace}: model resnet50-v1.5-int8`],
        [`${namespace}-batches`, `${namespace}: batches`],
        [`${namespace}-webhooks`, `${namespace}: webhooks`],
      ]);
    }
  });
});

describe('GET /metrics on the API', () => {
  it('requires METRICS_TOKEN when it is set', async () => {
    for (const headers of [{}, bearer(dashboardToken), basic]) {
      const res = await get<ErrorBody>(idle.url, '/metrics', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(res.body.error.code).toBe('unauthorized');
    }
  });

  it('has HTTP, queue-depth and process metrics; routes are patterns, and depth follows the queue', async () => {
    const url = idle.url;
    const before = await apiMetrics(idle);
    for (const name of [
      'resnet_http_requests_total',
      'resnet_http_request_duration_seconds',
      'resnet_queue_jobs',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(metricNames(before), name).toContain(name);
    }
    const waiting = (text: string) =>
      sample(text, 'resnet_queue_jobs', { queue: jobQueue(idle), model: defaultModelName, state: 'waiting' });
    expect(waiting(before)).toBe(0);
    // The default model is the shared int8 build; its precision is read from the graph.
    expect(sample(before, 'resnet_model_info', { model: 'resnet50-v1.5-int8', precision: 'int8' })).toBe(1);

    // No worker serves this queue, so the job stays waiting.
    expect((await postImage(url, await image('orange.jpg'))).status).toBe(202);
    const unknownId = randomUUID();
    expect((await get(url, `/jobs/${unknownId}`)).status).toBe(404);
    const after = await apiMetrics(idle);
    expect(waiting(after)).toBe(1);
    const notFound = (text: string) =>
      sample(text, 'resnet_http_requests_total', { method: 'GET', route: '/jobs/:id', status: '404' }) ?? 0;
    expect(notFound(after)).toBe(notFound(before) + 1);
    expect(
      sample(after, 'resnet_http_requests_total', { method: 'POST', route: '/jobs', status: '202' }),
    ).toBeGreaterThanOrEqual(1);
    expect(after).not.toContain(unknownId);
  });
});

describe('a failed job, retried from the dashboard', () => {
  /**
   * A real failure, not a simulated one: the worker fails a job whose stored input is gone
   * (`input_missing`) and keeps failed jobs for FAILED_TTL_SECONDS. The operator pauses the queue
   * from the dashboard, so the test can take the input away before the worker sees the job; resumed,
   * a real worker fails it; the input put back (what fixing the cause looks like to the queue), it is
   * retried through Bull Board's API and completes.
   */
  it('fails without its input, completes once retried, and can then be deleted', async () => {
    const url = worked.url;
    const queue = `/admin/queues/api/queues/${jobQueue(worked)}`;
    const failedBefore = sample(await workerMetrics(), 'resnet_jobs_failed_total', { code: 'input_missing' }) ?? 0;
    expect((await fetch(`${url}${queue}/pause`, { method: 'PUT', headers: basic })).status).toBe(200);
    const submitted = await postImage(url, await image('coffee.png'));
    expect(submitted.status).toBe(202);
    const id = submitted.body.id;
    const key = `bull:${jobQueue(worked)}:input:${id}`;
    const input = await redis.getBuffer(key);
    expect(input?.length).toBeGreaterThan(10_000);
    await redis.del(key);
    expect((await fetch(`${url}${queue}/resume`, { method: 'PUT', headers: basic })).status).toBe(200);

    const failed = await get(url, `/jobs/${id}/wait?timeout=60`);
    expect(failed.body).toMatchObject({ status: 'failed', error: { code: 'input_missing' } });
    expect(sample(await workerMetrics(), 'resnet_jobs_failed_total', { code: 'input_missing' })).toBe(failedBefore + 1);

    await redis.set(key, input!, 'EX', 3600);
    const retry = await fetch(`${url}${queue}/${id}/retry`, { method: 'PUT', headers: basic });
    expect(retry.status).toBe(204);
    const done = await get(url, `/jobs/${id}/wait?timeout=60`);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('completed');
    expect(done.body.result!.predictions[0]!.label).toBe('espresso');

    const removed = await fetch(`${url}${queue}/${id}/clean`, { method: 'PUT', headers: bearer(dashboardToken) });
    expect(removed.status).toBe(204);
    expect((await get(url, `/jobs/${id}`)).status).toBe(404);
  });

  it('the worker serves its own metrics, behind the same token, and they move as jobs run', async () => {
    const refused = await get<ErrorBody>(workerUrl, '/metrics');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(refused.body.error.code).toBe('unauthorized');

    const before = await workerMetrics();
    // Exported from the start (at 0 before the first job), whichever tests ran before this one.
    expect(sample(before, 'resnet_jobs_completed_total', { model: defaultModelName })).toBeGreaterThanOrEqual(0);
    expect(sample(before, 'resnet_model_load_seconds')).toBeGreaterThan(0);
    expect(sample(before, 'resnet_model_info', { model: 'resnet50-v1.5-int8', precision: 'int8' })).toBe(1);
    expect(metricNames(before)).toContain('process_resident_memory_bytes');

    const jobs: JobBody[] = await Promise.all(
      ['orange.jpg', 'baboon.jpg', 'eagle.jpg'].map(async (name) => submitAndWait(worked.url, await image(name))),
    );
    expect(jobs.every((j) => j.status === 'completed')).toBe(true);
    const after = await workerMetrics();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      (sample(after, name, labels) ?? NaN) - (sample(before, name, labels) ?? 0);
    expect(delta('resnet_jobs_completed_total')).toBe(3);
    expect(delta('resnet_batch_size_sum')).toBe(3);
    expect(delta('resnet_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(delta('resnet_batch_inference_seconds_count')).toBe(delta('resnet_batch_size_count'));
    expect(delta('resnet_job_latency_seconds_count', { status: 'completed' })).toBe(3);

    const api = await apiMetrics(worked);
    expect(
      sample(api, 'resnet_queue_jobs', { queue: jobQueue(worked), model: defaultModelName, state: 'waiting' }),
    ).toBe(0);
  });
});

describe('without credentials', () => {
  it('the dashboard is not mounted (404, and the log says how to enable it), and /metrics is open', async () => {
    // The API's own start-up (what src/api/main.ts runs), logging to memory instead of stdout.
    const logs = captureLogs();
    const bare = await startApi(
      testConfig(redisUrl, { QUEUE_NAME: idle.config.queue.name, PORT: '0', HOST: '127.0.0.1' }),
      pino({ level: 'info' }, logs.destination),
    );
    try {
      const bareUrl = `http://127.0.0.1:${bare.port}`;
      const dashboard = await get<ErrorBody>(bareUrl, '/admin/queues', { headers: basic });
      expect(dashboard.status).toBe(404);
      expect(dashboard.body.error.code).toBe('not_found');
      expect(logs.text()).toMatch(
        /dashboard not mounted: set DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_TOKEN/,
      );
      const metrics = await fetch(`${bareUrl}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    } finally {
      await bare.close();
    }
  });
});
