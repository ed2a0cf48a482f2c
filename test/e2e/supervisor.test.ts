import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, startRedisServer } from '../../src/redis-server.js';
import { spawnEntry, waitForReady } from '../support/service.js';
import { exitWithin, until } from '../support/wait.js';

/** `npm start`'s shutdown policy, with real processes: nothing outlives it, and it never restarts forever. */

const redisUrl = inject('redisUrl');
const queueName = () => `supervisor-${randomUUID().slice(0, 8)}`;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids the supervisor logged for its worker, in order. */
const workerPids = (output: string): number[] =>
  [...output.matchAll(/"childPid":(\d+),"child":"worker"[^\n]*"msg":"worker started"/g)].map((m) => Number(m[1]));
/** Pids the supervisor logged for its API processes, in order. */
const apiPids = (output: string): number[] =>
  [...output.matchAll(/"childPid":(\d+),"child":"api"[^\n]*"msg":"api started"/g)].map((m) => Number(m[1]));

async function exitOf(child: ReturnType<typeof spawnEntry>['child']): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('npm start supervises its children', () => {
  const emptyDirs: string[] = [];
  afterAll(async () => {
    for (const dir of emptyDirs) await rm(dir, { recursive: true, force: true });
  });

  it('takes the worker and the private Redis down with it when killed with SIGKILL', async () => {
    const port = await freePort();
    const { child, output } = spawnEntry('main', { PORT: String(port), HOST: '127.0.0.1' });
    await waitForReady(`http://127.0.0.1:${port}`, child, output);
    const [workerPid] = workerPids(output());
    const redisPid = Number(/"redisPid":(\d+)[^\n]*started a private redis-server/.exec(output())?.[1]);
    expect(workerPid).toBeGreaterThan(0);
    expect(redisPid).toBeGreaterThan(0);
    expect(alive(workerPid!) && alive(redisPid)).toBe(true);

    const [apiPid] = apiPids(output());
    expect(alive(apiPid!)).toBe(true);

    child.kill('SIGKILL');
    await exitOf(child);
    await until('the worker to exit', () => !alive(workerPid!));
    await until('the API process to exit', () => !alive(apiPid!));
    await until('redis-server to exit', () => !alive(redisPid));
  });

  it('restarts an API process killed with SIGKILL; the worker and the private Redis stay up', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { child, output } = spawnEntry('main', {
      PORT: String(port),
      HOST: '127.0.0.1',
      API_PROCESSES: '1',
      WORKERS: '1',
      RESTART_BACKOFF_MS: '100',
    });
    try {
      await waitForReady(url, child, output);
      const [workerPid] = workerPids(output());
      const [apiPid] = apiPids(output());
      const redisPid = Number(/"pid":(\d+)[^\n]*started a private redis-server/.exec(output())?.[1]);
      process.kill(apiPid!, 'SIGKILL');
      await until('a new API process', () => apiPids(output()).length === 2);
      await waitForReady(url, child, output);
      expect(output()).toContain('"msg":"api exited; restarting in 100 ms"');
      const submitted = await fetch(`${url}/healthz`);
      expect(submitted.status).toBe(200);
      expect(alive(workerPid!) && alive(redisPid)).toBe(true);
      expect(workerPids(output())).toEqual([workerPid]);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
      await exitOf(child);
    }
  });

  it('runs API_PROCESSES API processes on one port and WORKERS workers, splitting the inference threads', async () => {
    const port = await freePort();
    const { child, output } = spawnEntry('main', {
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_NAME: queueName(),
      API_PROCESSES: '2',
      WORKERS: '2',
    });
    try {
      await waitForReady(`http://127.0.0.1:${port}`, child, output);
      await until('the ready line', () => output().includes('· 2 workers · 2 API processes ·'));
      expect(apiPids(output())).toHaveLength(2);
      expect(workerPids(output())).toHaveLength(2);
      const threads = [...output().matchAll(/"intraOpThreads":(\d+)/g)].map((m) => Number(m[1]));
      expect(threads).toEqual(Array(2).fill(Math.max(1, Math.floor(os.availableParallelism() / 2))));
      const answered = await Promise.all(
        Array.from({ length: 8 }, () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status)),
      );
      expect(answered).toEqual(Array(8).fill(200));
    } finally {
      child.kill('SIGTERM');
      await exitOf(child);
    }
  });

  it('stops with one sentence naming the port when the API cannot bind it', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const { child, output } = spawnEntry('main', {
        REDIS_URL: redisUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        QUEUE_NAME: queueName(),
      });
      expect(await exitOf(child)).toBe(1);
      expect(output()).toContain(`main: port ${port} on 127.0.0.1 is already in use`);
      // The worker is started only once the API listens: none was started for nothing.
      expect(workerPids(output())).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it("stops with the worker's one sentence when the model is missing, instead of restarting it", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'no-model-'));
    emptyDirs.push(dir);
    const port = await freePort();
    const { child, output } = spawnEntry('main', {
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_NAME: queueName(),
      MODEL_DIR: dir,
    });
    expect(await exitOf(child)).toBe(1);
    expect(output()).toContain(`cannot load the model: model in ${dir}: model.onnx not found`);
    expect(workerPids(output())).toHaveLength(1);
  });

  it('restarts a crashing worker with growing delays, then gives up with a clear message', async () => {
    const port = await freePort();
    const { child, output } = spawnEntry('main', {
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_NAME: queueName(),
      RESTART_BACKOFF_MS: '100',
      RESTART_MAX_CRASHES: '3',
    });
    for (let crash = 1; crash <= 3; crash++) {
      await until(
        `worker start ${crash}`,
        () => workerPids(output()).length >= crash || child.exitCode !== null,
        60_000,
      );
      process.kill(workerPids(output())[crash - 1]!, 'SIGKILL');
    }
    expect(await exitOf(child)).toBe(1);
    expect(output()).toContain('main: the worker crashed 3 times in a row (last exit: SIGKILL); giving up');
    const delays = [...output().matchAll(/"delayMs":(\d+)/g)].map((m) => Number(m[1]));
    expect(delays).toEqual([100, 200]);
    expect(workerPids(output())).toHaveLength(3);
  });

  it('on SIGTERM with Redis down, signals every child and exits within 10 s', async () => {
    const redis = await startRedisServer();
    try {
      const port = await freePort();
      const { child, output } = spawnEntry('main', { REDIS_URL: redis.url, PORT: String(port), HOST: '127.0.0.1' });
      await waitForReady(`http://127.0.0.1:${port}`, child, output);
      const [workerPid] = workerPids(output());
      await redis.stop();
      child.kill('SIGTERM');
      // The 10 s bound is the policy itself (an orchestrator's grace period), not a speed target.
      expect(await exitWithin(child, 10_000)).toBe(0);
      expect(alive(workerPid!)).toBe(false);
    } finally {
      await redis.stop();
    }
  });
});
