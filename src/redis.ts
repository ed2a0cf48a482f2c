import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './config.js';
import type { Logger } from './logger.js';
import { outageLogFor } from './redis-outage.js';

/** A connection to the service's Redis, whichever shape it has; both kinds run the same commands. */
export type RedisClient = Redis | Cluster;

export type ConnectionPurpose = 'command' | 'blocking';

const reconnectDelayMs = (attempt: number) => Math.min(100 * 2 ** attempt, 2000);

/**
 * The one place connections are made (API, workers, dashboard, rate limiting, readiness).
 *
 * `command`: for request paths. No offline queue and one retry, so a Redis outage (or a failover
 * in progress) fails a request in milliseconds (the API answers 503) instead of hanging it.
 * `blocking`: for BullMQ workers and QueueEvents, which must wait out an outage (BullMQ requires
 * maxRetriesPerRequest: null there).
 * All reconnect forever with capped backoff. Through Sentinel every reconnect asks the sentinels
 * for the current master, and `failoverDetector` reconnects as soon as they announce a new one
 * (instead of when the dead master's socket times out).
 * With `log`, an outage is logged once per reconnect step for every connection made with that logger.
 * `command` connections pipeline the commands of one event-loop turn into one socket write: the
 * API's concurrent requests then share writes (docs/performance.md). Not `blocking`: BullMQ's
 * workers and QueueEvents run there, and Bull users reported lost job data with auto-pipelining.
 */
export function connectRedis(
  target: RedisTarget,
  purpose: ConnectionPurpose,
  options: {
    /** Logs an outage once per reconnect step for every connection made with this logger. */
    log?: Logger;
    /**
     * `command` only: a command not answered within this many ms fails (the API answers 503), so a
     * Redis that stops answering without closing its socket (paused, swapping, a network
     * partition) cannot hang requests and readiness probes. Unset: no limit.
     */
    commandTimeoutMs?: number;
  } = {},
): RedisClient {
  const { log, commandTimeoutMs } = options;
  const outage = log && outageLogFor(log, target);
  let lastError: string | undefined;
  const retryStrategy = (attempt: number) => {
    const delayMs = reconnectDelayMs(attempt);
    outage?.retrying(attempt, delayMs, lastError);
    return delayMs;
  };
  const client = createClient(target, purpose, retryStrategy, commandTimeoutMs);
  // Without a listener ioredis prints "[ioredis] Unhandled error event" and a stack for every failed
  // reconnect; the outage log above says it once per step instead.
  client.on('error', (err: Error) => (lastError = err.message));
  client.on('ready', () => outage?.connected());
  return client;
}

function createClient(
  target: RedisTarget,
  purpose: ConnectionPurpose,
  retryStrategy: (attempt: number) => number,
  commandTimeoutMs: number | undefined,
): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: purpose === 'command' ? 1 : null,
    enableOfflineQueue: purpose === 'blocking',
    retryStrategy,
    enableAutoPipelining: purpose === 'command',
    ...(purpose === 'command' && commandTimeoutMs !== undefined ? { commandTimeout: commandTimeoutMs } : {}),
  };
  switch (target.kind) {
    case 'url':
      return new Redis(target.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.name,
        password: target.password,
        sentinelRetryStrategy: retryStrategy,
        failoverDetector: true,
      });
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: { ...options, password: target.password },
        enableOfflineQueue: purpose === 'blocking',
        enableAutoPipelining: purpose === 'command',
        clusterRetryStrategy: retryStrategy,
      };
      return new Cluster(
        target.nodes.map(({ host, port }) => ({ host, port })),
        clusterOptions,
      );
    }
  }
}
