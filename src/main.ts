import cluster from 'node:cluster';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { superviseChild, type SupervisedChild } from './child-supervisor.js';
import { closeWithin } from './close-within.js';
import { childEnv, type Config } from './config.js';
import { hasCredentials } from './credentials.js';
import type { Logger } from './logger.js';
import { describeRedis } from './redis-outage.js';
import { redisServerOnPath, startRedisServer, type RedisServer } from './redis-server.js';
import { browserUrl, readyLine } from './ready-line.js';
import { runMain, type ReadyFacts } from './run-main.js';
import { StartupError } from './startup-error.js';

const here = fileURLToPath(import.meta.url);
/** Same extension as this file, so this works from compiled JS and from TypeScript under tsx. */
const workerEntry = path.join(path.dirname(here), 'worker', `main${path.extname(here)}`);
const apiEntry = path.join(path.dirname(here), 'api', `main${path.extname(here)}`);

/**
 * How long each part may take to stop, ms: the API processes and the workers stop side by side, then
 * Redis, so SIGTERM ends everything within 10 s even with Redis down (a child still closing is killed).
 */
const stopTimeoutMs = 7000;

/**
 * All-in-one for a single machine: Redis (private unless REDIS_URL, REDIS_SENTINELS or
 * REDIS_CLUSTER_NODES is set), API_PROCESSES API processes sharing the port (node:cluster), and
 * WORKERS worker processes with INTRA_OP_THREADS split between them, every one a supervised child, so
 * a crash in one part (inference, or an upload that kills an API process) takes nothing else down.
 * The shutdown policy: no child outlives this process (each watches its IPC channel, the private
 * Redis a pipe, so all go even after a SIGKILL of this one); a start-up failure of any part stops
 * everything with its one sentence; a crashing child is restarted with backoff and given up on after
 * RESTART_MAX_CRASHES crashes in a row.
 */
async function startAll(config: Config, log: Logger) {
  let redis: RedisServer | undefined;
  let target = config.redis;
  // The children inherit our environment, so a configured Redis reaches them as it is.
  let redisEnv: Record<string, string> = {};
  if (!target) {
    if (!redisServerOnPath()) {
      throw new StartupError(
        'no Redis: set REDIS_URL to a Redis 6.2+ server, ' +
          'or install redis-server (Debian: apt-get install -y redis-server)',
      );
    }
    redis = await startRedisServer({ dieWithParent: true });
    target = { kind: 'url', url: redis.url };
    redisEnv = { REDIS_URL: redis.url };
    log.info(
      { url: redis.url, redisPid: redis.pid },
      'started a private redis-server (data is not kept after exit; set REDIS_URL for a durable one)',
    );
  }
  const backoff = { baseMs: config.restartBackoffMs, maxCrashes: config.restartMaxCrashes };
  const apis: SupervisedChild[] = [];
  /** Started once an API process listens. */
  const workers: SupervisedChild[] = [];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all([...apis, ...workers].map((child) => child.stop(stopTimeoutMs)));
      await closeWithin(redis?.stop() ?? Promise.resolve(), 2000);
    })());
  const giveUp = (reason: string) => {
    // A child's own start-up sentence already names the problem: said once, as ours.
    process.stderr.write(`main: ${reason.replace(/^api: /, '')}; stopping\n`);
    void close().finally(() => process.exit(1));
  };

  // The API first: a port in use stops start-up before the workers load a model for nothing.
  cluster.setupPrimary({ exec: apiEntry });
  const apiEnv = childEnv(redisEnv);
  let announced = false;
  let listened!: (facts: Partial<ReadyFacts>) => void;
  let failed!: (err: Error) => void;
  const listening = new Promise<Partial<ReadyFacts>>((resolve, reject) => ((listened = resolve), (failed = reject)));
  const apisReady = new Set<number>();
  apis.push(
    ...Array.from({ length: config.apiProcesses }, (_, i) =>
      superviseChild({
        name: 'api',
        entry: apiEntry,
        env: apiEnv,
        fork: (_entry, env) => cluster.fork(env).process,
        backoff,
        log,
        onGiveUp: (reason) => {
          failed(new Error(reason));
          giveUp(reason);
        },
        onReady: (facts) => {
          apisReady.add(i);
          listened(facts);
          announce();
        },
      }),
    ),
  );
  // Given up on (giveUp is stopping everything): no worker is started.
  const facts = await listening.catch(() => new Promise<never>(() => undefined));

  const workerEnv = childEnv({ ...redisEnv, INTRA_OP_THREADS: String(config.threadsPerWorker) });
  const workersReady = new Set<number>();
  workers.push(
    ...Array.from({ length: config.workers }, (_, i) =>
      superviseChild({
        name: 'worker',
        entry: workerEntry,
        env: workerEnv,
        backoff,
        log,
        onGiveUp: giveUp,
        onReady: () => {
          workersReady.add(i);
          announce();
        },
      }),
    ),
  );
  // Once every API process listens and every worker has loaded every model: then /readyz answers 200.
  function announce() {
    if (announced || workers.length === 0 || apisReady.size < apis.length || workersReady.size < workers.length) return;
    announced = true;
    log.info(
      readyLine({
        baseUrl: browserUrl(config.host, facts.port ?? config.port),
        dashboard: hasCredentials(config.dashboardCredentials),
        model: { name: (facts.models ?? []).join(', ') },
        workers: workers.length,
        apiProcesses: apis.length,
        redis: redis ? { mode: 'embedded' } : { mode: 'url', url: describeRedis(target!) },
      }),
    );
  }
  announce();
  return { close };
}

// Tracing runs in the API and worker processes, each its own; this one only supervises.
await runMain('main', (config, log) => startAll(config, log));
