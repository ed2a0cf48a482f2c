import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { projectRoot } from '../../src/config.js';
import { freePort } from '../../src/redis-server.js';

export interface RunningService {
  url: string;
  queueName: string;
  child: ChildProcess;
  /** Everything the process tree wrote so far, stdout and stderr. */
  output: () => string;
  stop: () => Promise<number | null>;
}

export type Entry = 'main' | 'api/main' | 'worker/main';

export interface SpawnedEntry {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output: () => string;
  /** Only what it wrote to stderr (where start-up errors go). */
  stderr: () => string;
}

/** Every process a test started; killed when the test process exits, even after a timed-out hook. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

/** Starts an entry point of the real service as a child process, compiled (test/support/global-build.ts). */
export function spawnEntry(entry: Entry, env: Record<string, string | undefined>): SpawnedEntry {
  return spawnIn(projectRoot, path.join(projectRoot, 'dist', `${entry}.js`), env);
}

/** Runs `script` with node in `cwd` (a checkout, or a copy installed as the image installs it). */
export function spawnIn(cwd: string, script: string, env: Record<string, string | undefined>): SpawnedEntry {
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let text = '';
  let errText = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    text += d.toString();
    errText += d.toString();
  });
  return { child, output: () => text, stderr: () => errText };
}

/** Polls `path` (readiness by default; `/healthz` for an API started without a worker) until it answers 2xx. */
export async function waitForReady(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 60_000,
  path = '/readyz',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${output()}`);
    const ok = await fetch(`${url}${path}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`service not ready after ${timeoutMs} ms:\n${output()}`);
}

export async function stopChild(child: ChildProcess): Promise<number | null> {
  // A process killed by a signal has exitCode null and signalCode set: it is gone too.
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

/** The all-in-one service (API + supervised worker) on a free port, its own queue, the harness's Redis. */
export async function startService(redisUrl: string, env: Record<string, string> = {}): Promise<RunningService> {
  const port = await freePort();
  const queueName = `test-${randomUUID().slice(0, 8)}`;
  const { child, output } = spawnEntry('main', {
    REDIS_URL: redisUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    QUEUE_NAME: queueName,
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(url, child, output);
  return { url, queueName, child, output, stop: () => stopChild(child) };
}
