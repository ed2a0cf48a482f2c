import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';

export interface RedisServer {
  url: string;
  pid: number;
  port: number;
  /** Data directory (the AOF lives here when enabled). */
  dir: string;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Reuse a data directory (for restart tests); a fresh temporary one when omitted. */
  dir?: string;
  /** Turn on AOF persistence (appendfsync everysec), as production Redis should run. */
  appendOnly?: boolean;
  /**
   * Stop the server when this process dies, even by SIGKILL (default false). A watchdog shell
   * holds the read end of a pipe from us; the kernel closes our end when we die, its `read` sees
   * end-of-file, and it stops the server (and removes a directory we created).
   */
  dieWithParent?: boolean;
  /** More redis-server arguments (`--replicaof`, `--cluster-enabled`…), for the test harness's topologies. */
  extraArgs?: readonly string[];
}

export function redisServerOnPath(): boolean {
  return !spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts a private redis-server on loopback (the all-in-one default and the test harness) and
 * resolves once it answers PING. `stop()` shuts it down and removes a directory it created.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'resnet-queue-redis-')));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.appendOnly ? 'yes' : 'no',
      '--maxmemory-policy',
      'noeviction',
      ...(options.extraArgs ?? []),
    ],
    { stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  const cleanup = `kill -TERM ${child.pid} 2>/dev/null${ownDir ? `; sleep 1; rm -rf '${dir}'` : ''}`;
  const watchdog = options.dieWithParent
    ? spawn('sh', ['-c', `while read -r _; do :; done; ${cleanup}`], { stdio: ['pipe', 'ignore', 'ignore'] })
    : undefined;
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  // Loaded here, not at the top: the all-in-one entry imports this module before tracing starts.
  const { Redis } = await import('ioredis');
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    const ok = await probe
      .connect()
      .then(() => probe.ping())
      .then(
        () => true,
        () => false,
      );
    probe.disconnect();
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      watchdog?.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid!,
    port,
    dir,
    stop: () =>
      (stopping ??= (async () => {
        watchdog?.kill('SIGKILL');
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })()),
  };
}
