import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { superviseChild } from './child-supervisor.js';
import { childEnv, type Config, type RedisTarget } from './config.js';
import { hasCredentials } from './credentials.js';
import type { Logger } from './logger.js';
import { redisServerOnPath, startRedisServer, type RedisServer } from './redis-server.js';
import { browserUrl, readyLine } from './ready-line.js';
import { runMain } from './run-main.js';
import { StartupError } from './startup-error.js';
import { startTraced, type Tracing } from './telemetry.js';

const here = fileURLToPath(import.meta.url);
/** Same extension as this file, so this works from compiled JS and from TypeScript under tsx. */
const workerEntry = path.join(path.dirname(here), 'worker', `main${path.extname(here)}`);

/**
 * How long each part may take to stop, ms: the API and the worker stop side by side, then Redis,
 * so SIGTERM ends everything within 10 s even with Redis down (a worker still closing is killed).
 */
const stopTimeoutMs = 7000;

const within = (promise: Promise<unknown>, ms: number): Promise<unknown> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
};

/**
 * All-in-one for a single machine: Redis (private unless REDIS_URL, REDIS_SENTINELS or
 * REDIS_CLUSTER_NODES is set), the API, the worker as a supervised child (inference gets its own
 * process, so a crash there cannot take the API down). The shutdown policy: no child outlives this
 * process (the worker watches its IPC channel, the private Redis a pipe, so both go even after a
 * SIGKILL of this one); a start-up failure of any part stops everything with its one sentence; a
 * crashing worker is restarted with backoff and given up on after RESTART_MAX_CRASHES crashes in a
 * row.
 */
async function startAll(config: Config, log: Logger, tracing: Tracing | undefined) {
  let redis: RedisServer | undefined;
  let target = config.redis;
  // The worker inherits our environment, so a configured Redis reaches it as it is.
  let workerEnv: Record<string, string> = {};
  if (!target) {
    if (!redisServerOnPath()) {
      throw new StartupError(
        'no Redis: set REDIS_URL to a Redis 6.2+ server, ' +
          'or install redis-server (Debian: apt-get install -y redis-server)',
      );
    }
    redis = await startRedisServer({ dieWithParent: true });
    target = { kind: 'url', url: redis.url };
    workerEnv = { REDIS_URL: redis.url };
    log.info(
      { url: redis.url, redisPid: redis.pid },
      'started a private redis-server (data is not kept after exit; set REDIS_URL for a durable one)',
    );
  }
  // The API first: a port in use stops start-up before the worker loads a model for nothing.
  // Imported now, after tracing has started (the worker process starts its own).
  const { startApi } = await import('./api/server.js');
  const api = await startApi({ ...config, redis: target }, log, tracing).catch(async (err: unknown) => {
    await redis?.stop();
    throw err;
  });
  let closing: Promise<void> | undefined;
  let announced = false;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all([within(api.close(), stopTimeoutMs), worker.stop(stopTimeoutMs)]);
      await within(redis?.stop() ?? Promise.resolve(), 2000);
    })());
  const worker = superviseChild({
    name: 'worker',
    entry: workerEntry,
    env: childEnv(workerEnv),
    backoff: { baseMs: config.restartBackoffMs, maxCrashes: config.restartMaxCrashes },
    log,
    onGiveUp: (reason) => {
      // One sentence, once: the child's own start-up error reaches us as `reason` and was not printed.
      process.stderr.write(`main: ${reason}; stopping\n`);
      void close().finally(() => process.exit(1));
    },
    onReady: () => {
      if (announced) return;
      announced = true;
      log.info(
        readyLine({
          baseUrl: browserUrl(config.host, api.port),
          dashboard: hasCredentials(config.dashboardCredentials),
          model: { name: api.models.map((m) => m.name).join(', ') },
          workers: 1,
          redis: redis ? { mode: 'embedded' } : { mode: 'url', url: redisForHumans(target) },
        }),
      );
    },
  });
  return { close };
}

/**
 * What the ready line names: the URL, or where the sentinels and cluster nodes are (sentinel:// and
 * cluster:// are not URLs Redis clients take).
 */
function redisForHumans(target: RedisTarget): string {
  if (target.kind === 'url') return target.url;
  const hosts = (target.kind === 'sentinel' ? target.sentinels : target.nodes)
    .map((h) => `${h.host}:${h.port}`)
    .join(',');
  return target.kind === 'sentinel' ? `sentinel://${hosts}/${target.name}` : `cluster://${hosts}`;
}

await runMain('main', (config, log) => startTraced(config, 'api', log, (tracing) => startAll(config, log, tracing)));
