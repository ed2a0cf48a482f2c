import { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import { keyPrefix, type RetentionSeconds } from '../queue/keys.js';
import type { RedisClient } from '../redis.js';

/** Most finished jobs removed per state and pass: a backlog is worked off over several passes. */
const perPass = 1000;

/**
 * Enforces RESULT_TTL_SECONDS and FAILED_TTL_SECONDS on a timer (issue 21, F15). BullMQ's
 * `removeOnComplete: {age}` is lazy: it removes old jobs only when another job finishes, so on an
 * idle queue a finished job (and its result) outlived its TTL indefinitely. Every
 * min(TTL, 60 s) each worker removes the jobs finished longer ago than their TTL; several
 * workers doing so at once only find less to remove. Returns the function that stops it.
 */
export function startFinishedJobExpiry(
  queueName: string,
  redis: RedisClient,
  retention: RetentionSeconds,
  log: Logger,
): () => Promise<void> {
  const queue = new Queue(queueName, { connection: redis, prefix: keyPrefix });
  queue.on('error', (err) => log.warn({ err, queue: queueName }, 'expiry queue connection error'));
  const pass = async () => {
    try {
      const completed = await queue.clean(retention.resultTtlSeconds * 1000, perPass, 'completed');
      const failed = await queue.clean(retention.failedTtlSeconds * 1000, perPass, 'failed');
      const removed = completed.length + failed.length;
      if (removed > 0) log.debug({ queue: queueName, removed }, 'expired finished jobs removed');
    } catch (err) {
      log.warn({ err, queue: queueName }, 'expiring finished jobs failed');
    }
  };
  const everyMs = Math.min(retention.resultTtlSeconds, retention.failedTtlSeconds, 60) * 1000;
  const timer = setInterval(() => void pass(), everyMs);
  return async () => {
    clearInterval(timer);
    await queue.close();
  };
}
