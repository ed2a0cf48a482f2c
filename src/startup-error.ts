/**
 * A start-up failure that one sentence explains (a port in use, no model): printed as that
 * sentence, without a stack, and reported to a supervising parent, which then stops rather than
 * restarting a process that would only fail the same way.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** When none of the Redis variables is set: what to set (an entry point alone starts no Redis). */
export const noRedisSentence = (role: string): string =>
  `the ${role} needs a Redis: set REDIS_URL (or REDIS_SENTINELS with REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES); ` +
  '`npm start` starts a private one';
