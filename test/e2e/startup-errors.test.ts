import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectApiDeps } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { modelDir } from '../support/paths.js';
import { freePort, startRedisServer } from '../../src/redis-server.js';
import { StartupError } from '../../src/startup-error.js';
import { startWorker } from '../../src/worker/worker.js';
import { spawnEntry, stopChild, waitForReady, type Entry, type SpawnedEntry } from '../support/service.js';

async function exitOf({ child }: SpawnedEntry): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** What a person sees: exactly one line on stderr, no stack, and nothing about unhandled errors anywhere. */
function expectOneSentence(run: SpawnedEntry, sentence: RegExp): void {
  const lines = run.stderr().split('\n').filter(Boolean);
  expect(lines, run.output()).toHaveLength(1);
  expect(lines[0]).toMatch(sentence);
  expect(run.output()).not.toMatch(/\n\s+at |Unhandled error event|"level":60/);
}

/** Every JSON log line parses to an object with each key once (pino's base `pid` was written twice). */
function expectNoDuplicateKeys(output: string): void {
  for (const line of output.split('\n').filter((l) => l.startsWith('{'))) {
    const keys = [...line.matchAll(/[{,]"([A-Za-z]+)":/g)].map((m) => m[1]);
    const topLevel = Object.keys(JSON.parse(line) as object);
    expect(
      keys.filter((k) => k === 'pid'),
      line,
    ).toHaveLength(1);
    expect(new Set(topLevel).size).toBe(topLevel.length);
  }
}

describe('start-up failures are one sentence on stderr, once, without a stack', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('an unreachable REDIS_URL names the URL and the cause, in every entry point', async () => {
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const entries: Entry[] = ['main', 'api/main', 'worker/main'];
    const ports = await Promise.all(entries.map(() => freePort()));
    const runs = entries.map((entry, i) =>
      spawnEntry(entry, { REDIS_URL: redisUrl, PORT: String(ports[i]), HOST: '127.0.0.1', QUEUE_NAME: 'unreachable' }),
    );
    const codes = await Promise.all(runs.map(exitOf));
    expect(codes).toEqual([1, 1, 1]);
    runs.forEach((run, i) => {
      const role = entries[i]!.replace('/main', '');
      expectOneSentence(
        run,
        new RegExp(
          `^${role}: cannot reach Redis at ${redisUrl} \\(connect ECONNREFUSED [^)]+\\) after 10 s: ` +
            'start it, or set REDIS_URL',
        ),
      );
    });
  });

  it('the API and the worker without any Redis variable: one StartupError sentence, no stack', async () => {
    const config = loadConfig({ MODEL_DIR: modelDir });
    const logger = createLogger('silent', 'test');
    for (const [start, role] of [
      [() => connectApiDeps(config, logger), 'API'],
      [() => startWorker(config, logger), 'worker'],
    ] as const) {
      const failure = await start().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(StartupError);
      expect((failure as Error).message).toMatch(new RegExp(`^the ${role} needs a Redis: set REDIS_URL`));
    }
  });

  it('without REDIS_URL and without redis-server', async () => {
    const run = spawnEntry('main', { PATH: '/nonexistent' });
    expect(await exitOf(run)).toBe(1);
    expectOneSentence(run, /^main: no Redis: set REDIS_URL to a Redis 6\.2\+ server, or install redis-server/);
  });

  it('a MODEL_DIR without a model', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'resnet-queue-no-model-'));
    dirs.push(dir);
    const run = spawnEntry('main', {
      REDIS_URL: inject('redisUrl'),
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      QUEUE_NAME: `nomodel-${randomUUID().slice(0, 8)}`,
      MODEL_DIR: dir,
    });
    expect(await exitOf(run)).toBe(1);
    expectOneSentence(run, /^main: worker: cannot load the model: model in .* model\.onnx not found \(set MODEL_DIR/);
    expect(run.output().split('model.onnx not found')).toHaveLength(2);
  });
});

describe('Redis lost after start-up', () => {
  it('logs one warning per reconnect step in each process, never an unhandled error event', async () => {
    const redis = await startRedisServer();
    const port = await freePort();
    const run = spawnEntry('main', {
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_NAME: `outage-${randomUUID().slice(0, 8)}`,
    });
    try {
      await waitForReady(`http://127.0.0.1:${port}`, run.child, run.output);
      await redis.stop();
      const attempts = (role: string) =>
        [
          ...run.output().matchAll(new RegExp(`"role":"${role}"[^\\n]*"attempt":(\\d+)[^\\n]*cannot reach Redis`, 'g')),
        ].map((m) => Number(m[1]));
      // Four steps of the capped back-off (200, 400, 800, 1600 ms) in the API and in the worker.
      await expect
        .poll(() => Math.min(attempts('api').length, attempts('worker').length), { timeout: 30_000 })
        .toBeGreaterThanOrEqual(4);
      for (const role of ['api', 'worker']) {
        const seen = attempts(role);
        expect(seen.slice(0, 4)).toEqual([1, 2, 3, 4]);
      }
      expect(run.output()).toContain(`cannot reach Redis at ${redis.url} (connect ECONNREFUSED`);
      expect(run.output()).not.toMatch(/Unhandled error event|\n\s+at /);
      expectNoDuplicateKeys(run.output());
    } finally {
      await stopChild(run.child);
    }
  });
});
