import { Worker } from 'bullmq';
import { keyPrefix } from '../queue/keys.js';
import type { Logger } from '../logger.js';
import type { RedisTarget } from '../config.js';
import { connectRedis } from '../redis.js';
import { redisErrorListener } from '../redis-outage.js';

export interface BatchFinisher {
  close(): Promise<void>;
}

/**
 * Completes batch parents. BullMQ hands a parent to this worker only once all its children have
 * finished, so completing it is all there is to do; its return value is the final tally and its
 * `completed` event wakes the batch long-polls. It needs no model: it runs in the API process.
 */
export function startBatchFinisher(redis: RedisTarget, queueName: string, log: Logger): BatchFinisher {
  const worker = new Worker(
    queueName,
    async (job) => {
      const counts = await job.getDependenciesCount();
      return { completed: counts.processed ?? 0, failed: (counts.ignored ?? 0) + (counts.failed ?? 0) };
    },
    { connection: connectRedis(redis, 'blocking', { log }), prefix: keyPrefix, concurrency: 8 },
  );
  worker.on('error', redisErrorListener(log, 'batch finisher error'));
  let closing: Promise<void> | undefined;
  return { close: () => (closing ??= worker.close()) };
}
