import { Redis } from 'ioredis';

/**
 * `command`: for request paths. No offline queue and one retry, so a Redis outage fails a request
 * in milliseconds (the API answers 503) instead of hanging it.
 * `blocking`: for BullMQ workers and QueueEvents, which must wait out an outage (BullMQ requires
 * maxRetriesPerRequest: null there).
 * Both reconnect forever with capped backoff.
 */
export function connectRedis(url: string, purpose: 'command' | 'blocking'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: purpose === 'command' ? 1 : null,
    enableOfflineQueue: purpose === 'blocking',
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
  });
}
