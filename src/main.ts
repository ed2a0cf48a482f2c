import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApi } from './api/server.js';
import { childEnv, type Config } from './config.js';
import { hasCredentials } from './credentials.js';
import type { Logger } from './logger.js';
import { redisServerOnPath, startRedisServer, type RedisServer } from './redis-server.js';
import { browserUrl, readyLine } from './ready-line.js';
import { runMain } from './run-main.js';

const here = fileURLToPath(import.meta.url);
/** Same extension as this file, so this works from compiled JS and from TypeScript under tsx. */
const workerEntry = path.join(path.dirname(here), 'worker', `main${path.extname(here)}`);
const restartDelayMs = 1000;

/**
 * Runs the worker as a child process: inference gets its own process (a crash there cannot take
 * the API down) and is restarted if it dies.
 */
function superviseWorker(redisUrl: string, log: Logger): { ready: Promise<void>; stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  let stopping = false;
  let markReady: () => void;
  /** The first time a worker has loaded its model and connected (run-main.ts sends the message). */
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const start = () => {
    child = fork(workerEntry, { env: childEnv({ REDIS_URL: redisUrl }) });
    child.on('message', (message: { type?: string }) => {
      if (message.type === 'ready') markReady();
    });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.error({ code, signal }, `worker exited; restarting in ${restartDelayMs} ms`);
      setTimeout(start, restartDelayMs);
    });
  };
  start();
  return {
    ready,
    stop: async () => {
      stopping = true;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

/** All-in-one for a single machine: Redis (private unless REDIS_URL is set), the worker, the API. */
async function startAll(config: Config, log: Logger) {
  let redis: RedisServer | undefined;
  let redisUrl = config.redisUrl;
  if (!redisUrl) {
    if (!redisServerOnPath()) {
      throw new Error('no Redis: set REDIS_URL to a Redis 6.2+ server, or install redis-server (Debian: apt-get install -y redis-server)');
    }
    redis = await startRedisServer();
    redisUrl = redis.url;
    log.info({ url: redisUrl }, 'started a private redis-server (data is not kept after exit; set REDIS_URL for a durable one)');
  }
  const worker = superviseWorker(redisUrl, log);
  const api = await startApi({ ...config, redisUrl }, log);
  void worker.ready.then(() =>
    log.info(
      readyLine({
        baseUrl: browserUrl(config.host, api.port),
        dashboard: hasCredentials(config.dashboardCredentials),
        model: { name: api.manifest.name },
        workers: 1,
        redis: redis ? { mode: 'embedded' } : { mode: 'url', url: redisUrl },
      }),
    ),
  );
  return {
    close: async () => {
      await api.close();
      await worker.stop();
      await redis?.stop();
    },
  };
}

await runMain('main', startAll);
