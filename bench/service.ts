import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../src/config.js';
import { freePort, startRedisServer } from '../src/redis-server.js';

/** The service under measurement: its own redis-server, N worker processes and one API process. */
export interface BenchService {
  url: string;
  redisUrl: string;
  redisPid: number;
  api: ChildProcess;
  workers: ChildProcess[];
  stop(): Promise<void>;
}

/**
 * Starts the recommended single-machine layout as separate processes. The API is forked with
 * bench/loop-probe.ts preloaded, so its event-loop delay can be read over IPC (see loopDelay).
 * `root`: the checkout whose src/ runs as the service (another one's, to measure it with this bench).
 */
export async function startBenchService(
  env: Record<string, string>,
  workerProcesses: number,
  root = projectRoot,
): Promise<BenchService> {
  const redis = await startRedisServer();
  const port = await freePort();
  const childEnv = {
    ...process.env,
    ...env,
    REDIS_URL: redis.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  const tsx = ['--import', 'tsx'];
  const workers = Array.from({ length: workerProcesses }, () =>
    spawn(process.execPath, [...tsx, path.join(root, 'src/worker/main.ts')], {
      cwd: root,
      env: childEnv,
      stdio: 'inherit',
    }),
  );
  const api = fork(path.join(root, 'src/api/main.ts'), {
    cwd: root,
    env: childEnv,
    execArgv: [...tsx, '--import', path.join(projectRoot, 'bench/loop-probe.ts')],
    stdio: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600) throw new Error('service did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    redisUrl: redis.url,
    redisPid: redis.pid,
    api,
    workers,
    stop: () => stopProcesses([api, ...workers], redis),
  };
}

/** Stops a bench's service: each child with SIGTERM, waiting for its exit, then its Redis. */
export async function stopProcesses(
  children: readonly (ChildProcess | undefined)[],
  redis: { stop(): Promise<void> },
): Promise<void> {
  for (const child of children) {
    if (!child) continue;
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
  await redis.stop();
}

/** Event-loop delay of the API since the previous call (ms), from its preloaded probe. */
export async function loopDelay(api: ChildProcess): Promise<{ p50: number; p99: number; max: number }> {
  const reply = once(api, 'message') as Promise<[{ p50: number; p99: number; max: number }]>;
  api.send('loop-delay');
  return (await reply)[0];
}

/** CPU time (user + system) a process has used so far, seconds (Linux /proc; clock ticks of 10 ms). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a process, bytes (Linux /proc). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}
