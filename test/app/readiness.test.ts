import http from 'node:http';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { keyPrefix, modelQueueName } from '../../src/queue/keys.js';
import { connectRedis } from '../../src/redis.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import type { ModelView, ModelReadiness } from '../../src/api/wire.js';
import { get, image, postImage, type ErrorBody } from '../support/http.js';
import { captureLogs, startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { int8ModelDir, modelDir } from '../support/paths.js';
import { sample } from '../support/prometheus.js';
import { until } from '../support/wait.js';

/**
 * Readiness per model, and what the service logs while it refuses work. The API serves two models;
 * real workers (the real models, in this process) are started for one, then the other, each with its
 * own MODEL_DIRS on the same QUEUE_NAME, as two worker deployments would run.
 */
const redisUrl = inject('redisUrl');
let api: InProcessApi;
const workers: RunningWorker[] = [];
const int8 = 'resnet50-v1.5-int8';
const fp32 = 'resnet50-v1.5';

interface Line {
  level: number;
  msg: string;
  code?: string;
  err?: { stack?: string };
}

function workerFor(dir: string): Promise<RunningWorker> {
  const config = loadConfig({
    REDIS_URL: redisUrl,
    QUEUE_NAME: api.config.queue.name,
    MODEL_DIRS: dir,
    INTRA_OP_THREADS: '1',
    LOG_LEVEL: 'silent',
  });
  return startWorker(config, pino({ level: 'silent' })).then((w) => (workers.push(w), w));
}

beforeAll(async () => {
  api = await startInProcessApi(
    testConfig(redisUrl, { MODEL_DIRS: `${int8ModelDir},${modelDir}`, WORKER_GRACE_SECONDS: '0' }),
  );
});
afterAll(async () => {
  for (const worker of workers) await worker.close();
  await api?.close();
});

describe('/readyz with two models', () => {
  it('is 200 only once every model has a live worker, lists each one, and says which is paused', async () => {
    await workerFor(int8ModelDir);
    const one = await get<ErrorBody>(api.url, '/readyz');
    expect(one.status).toBe(503);
    expect(one.body.error.code).toBe('no_worker');
    expect(one.body.error.message).toContain(`model ${fp32}: no worker`);
    expect(one.body.error.message).not.toContain(int8);

    await workerFor(modelDir);
    const both = await get<{ status: string; models: ModelReadiness[] }>(api.url, '/readyz');
    expect(both.status).toBe(200);
    expect(both.body.models).toEqual([
      { name: int8, state: 'ready', workers: 1 },
      { name: fp32, state: 'ready', workers: 1 },
    ]);

    // Paused from the dashboard: nothing runs, and the probes, /models and /metrics say so.
    const queue = new Queue(modelQueueName(api.config.queue.name, fp32), {
      connection: connectRedis(api.config.redis.target!, 'blocking'),
      prefix: keyPrefix,
    });
    await queue.pause();
    const paused = await get<ErrorBody>(api.url, '/readyz');
    expect(paused.status).toBe(503);
    expect(paused.body.error.message).toBe(
      `not ready: model ${fp32}: its queue is paused (resume it from the dashboard)`,
    );
    const models = await get<{ models: ModelView[] }>(api.url, '/models');
    expect(models.body.models.map((m) => [m.name, m.ready, m.paused])).toEqual([
      [int8, true, false],
      [fp32, false, true],
    ]);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(sample(metrics, 'resnet_queue_paused', { model: fp32 })).toBe(1);
    expect(sample(metrics, 'resnet_queue_paused', { model: int8 })).toBe(0);
    await queue.resume();
    expect((await get(api.url, '/readyz')).status).toBe(200);
    await queue.close();
  });
});

describe('log levels', () => {
  /** One model, no worker: with no grace every submission is refused; with an hour of it, accepted. */
  async function quietApi(graceSeconds: number) {
    const captured = captureLogs();
    const quiet = await startInProcessApi(
      testConfig(redisUrl, { WORKER_GRACE_SECONDS: String(graceSeconds), MAX_QUEUE_DEPTH: '1', LOG_LEVEL: 'debug' }),
      { logs: captured.destination },
    );
    const written = (): Line[] =>
      captured
        .text()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line);
    return { quiet, written };
  }

  it('expected refusals (503 with Retry-After, 429) log at warn with their code, without a stack', async () => {
    const refusing = await quietApi(0);
    const accepting = await quietApi(3600);
    try {
      expect((await get(refusing.quiet.url, '/readyz')).status).toBe(503);
      const photo = await image('orange.jpg');
      expect((await postImage(refusing.quiet.url, photo)).status).toBe(503);
      expect((await postImage(accepting.quiet.url, photo)).status).toBe(202);
      expect((await postImage(accepting.quiet.url, photo)).status).toBe(429);
      const refusals = [...refusing.written(), ...accepting.written()].filter((l) => l.msg === 'request refused');
      expect(refusals.map((l) => [l.level, l.code])).toEqual([
        [40, 'no_worker'],
        [40, 'no_worker'],
        [40, 'queue_full'],
      ]);
      expect(refusals.every((l) => l.err === undefined)).toBe(true);
      expect([...refusing.written(), ...accepting.written()].filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      await Promise.all([refusing.quiet.close(), accepting.quiet.close()]);
    }
  });

  it('a client leaving a job event stream logs at debug, not as a dashboard warning', async () => {
    const { quiet, written } = await quietApi(3600);
    try {
      const submitted = await postImage(quiet.url, await image('orange.jpg'));
      expect(submitted.status).toBe(202);
      for (let i = 0; i < 5; i++) {
        const controller = new AbortController();
        const res = await fetch(`${quiet.url}/jobs/${submitted.body.id}/events`, { signal: controller.signal });
        await res.body!.getReader().read();
        controller.abort();
      }
      const ends = () => written().filter((l) => /^dashboard (client went away|error)$/.test(l.msg));
      await until('five streams ended', () => ends().length >= 5);
      expect(ends().map((l) => [l.level, l.msg])).toEqual(Array(5).fill([20, 'dashboard client went away']));
      expect(written().filter((l) => l.level >= 40)).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});

describe('Expect headers', () => {
  it("an expectation other than 100-continue gets a JSON 417, not Node's bare one", async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${api.url}/jobs`, { method: 'POST', headers: { Expect: '200-ok' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(417);
    expect(JSON.parse(body)).toEqual({
      error: {
        code: 'expectation_failed',
        message: 'Expect: 200-ok is not supported; only Expect: 100-continue is',
      },
    });
  });
});
