import type { RedisTarget } from './config.js';
import { connectRedis } from './redis.js';
import { describeRedis } from './redis-outage.js';
import { StartupError } from './startup-error.js';

/**
 * How long start-up waits for Redis, ms: long enough for a Redis started at the same moment (compose,
 * a pod) to come up, short enough that a wrong REDIS_URL is said plainly instead of retried forever.
 */
export const redisStartupWaitMs = 10_000;

/**
 * Resolves once Redis answers; otherwise fails start-up with one sentence naming where it looked
 * and why, instead of every connection retrying (and logging) forever before anything is served.
 */
export async function waitForRedis(target: RedisTarget, waitMs = redisStartupWaitMs): Promise<void> {
  const client = connectRedis(target, 'command');
  let lastError: string | undefined;
  client.on('error', (err: Error) => (lastError = err.message));
  let timer: NodeJS.Timeout | undefined;
  try {
    const reachable = await Promise.race([
      new Promise<boolean>((resolve) => client.once('ready', () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
    ]);
    if (!reachable) {
      throw new StartupError(
        `cannot reach Redis at ${describeRedis(target)}${lastError ? ` (${lastError})` : ''} ` +
          `after ${waitMs / 1000} s: start it, or set REDIS_URL (or REDIS_SENTINELS, REDIS_CLUSTER_NODES) ` +
          'to a running Redis 6.2+',
      );
    }
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
