import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { WebhookConfig } from '../config.js';
import { keyPrefix } from '../queue/keys.js';
import type { Logger } from '../logger.js';
import type { RedisTarget } from '../config.js';
import { connectRedis } from '../redis.js';
import { redisErrorListener } from '../redis-outage.js';
import { resolveWebhookTarget, WebhookRefusedError } from './address-guard.js';
import { postWebhook } from './post-webhook.js';
import { webhookHeaders } from './webhook-signature.js';
import { DeliveryDataSchema, type DeliveryData } from './webhook-queue.js';

/**
 * Writes the message of a delivery whose body was not fixed when it was queued, from the current
 * state of what it reports on (read as its submitter would); undefined once that has expired. The
 * API builds it with the schemas the OpenAPI document publishes (see api/webhook-message.ts).
 */
export type ComposeMessage = (
  delivery: Pick<DeliveryData, 'subject' | 'id' | 'queue' | 'owner' | 'origin'>,
  at: Date,
) => Promise<object | undefined>;

export interface WebhookDispatcher {
  close(): Promise<void>;
}

/**
 * Delivers webhook messages from their own queue. BullMQ starts a delivery job once the job or
 * batch it is the parent of has finished; a failed attempt (network error, timeout, non-2xx) is
 * retried with exponential backoff by BullMQ (WEBHOOK_ATTEMPTS, WEBHOOK_BACKOFF_MS). The message
 * body is fixed on the first attempt and its webhook-id is the delivery job's ID, so a receiver
 * sees the same message on every retry and can deduplicate on webhook-id. The target is checked
 * again at each attempt (DNS may have changed since submit) and the request is pinned to the
 * address that passed.
 */
export function startWebhookDispatcher(
  redis: RedisTarget,
  queueName: string,
  config: WebhookConfig & { secret: Buffer },
  compose: ComposeMessage,
  log: Logger,
): WebhookDispatcher {
  const deliver = async (job: Job) => {
    const data = DeliveryDataSchema.parse(job.data);
    let body = data.body;
    if (body === undefined) {
      const message = await compose(data, new Date());
      if (!message) throw new UnrecoverableError(`${data.subject} ${data.id} expired before its webhook was sent`);
      body = JSON.stringify(message);
      await job.updateData({ ...data, body });
    }
    const target = await resolveWebhookTarget(data.url, config.allowHosts).catch((err: unknown) => {
      // A host that now resolves to a private address is refused for good; an unresolvable one may come back.
      if (err instanceof WebhookRefusedError && !/does not resolve/.test(err.message))
        throw new UnrecoverableError(err.message);
      throw err;
    });
    const headers = webhookHeaders(config.secret, job.id!, Math.floor(Date.now() / 1000), body);
    const status = await postWebhook(target, headers, body, config.timeoutMs);
    return { status, attempt: job.attemptsMade + 1 };
  };
  const worker = new Worker(queueName, deliver, {
    connection: connectRedis(redis, 'blocking', { log }),
    prefix: keyPrefix,
    concurrency: 16,
  });
  worker.on('failed', (job, err) =>
    log.warn({ webhookId: job?.id, attempt: job?.attemptsMade, reason: err.message }, 'webhook delivery failed'),
  );
  worker.on('completed', (job) => log.info({ webhookId: job.id, attempt: job.attemptsMade }, 'webhook delivered'));
  worker.on('error', redisErrorListener(log, 'webhook dispatcher error'));
  let closing: Promise<void> | undefined;
  return { close: () => (closing ??= worker.close()) };
}
