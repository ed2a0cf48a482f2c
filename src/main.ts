import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApi } from './api/server.js';
import { childEnv, type Config } from './config.js';
import type { Logger } from './logger.js';
import { redisServerOnPath, startRedisServer, type RedisServer } from './redis-server.js';
import { runMain } from './run-main.js';

const here = fileURLToPath(import.meta.url);
/** Same extension as this file, so this works from compiled JS and from TypeScript under tsx. */
const workerEntry = path.join(path.dirname(here), 'worker', `main${path.extname(here)}`);
const restartDelayMs = 1000;

/**
 * Runs the worker as a child process: inference gets its own process (a crash there cannot take
 * the API down) and is restarted if it dies.
 */
function superviseWorker(redisUrl: string, log: Logger): { stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  let stopping = false;
  const start = () => {
    child = fork(workerEntry, { env: childEnv({ REDIS_URL: redisUrl }) });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.error({ code, signal }, `worker exited; restarting in ${restartDelayMs} ms`);
      setTimeout(start, restartDelayMs);
    });
  };
  start();
  return {
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
  return {
    close: async () => {
      await api.close();
      await worker.stop();
      await redis?.stop();
    },
  };
}

await runMain('main', startAll);
