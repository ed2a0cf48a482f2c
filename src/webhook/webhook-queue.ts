import type { FlowJob, FlowJobNode, JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * The webhook queue of a deployment: one per QUEUE_NAME, whatever queues its jobs run in, since a
 * delivery does not depend on the model that produced the result.
 */
export const webhookQueueName = (namespace: string): string => `${namespace}-webhooks`;
export const deliveryJobName = 'deliver';

/**
 * What is being reported: a job of the classification queue, a batch of them, or a job as a
 * Replicate prediction (the body is then the prediction itself, as Replicate sends it).
 */
export const WebhookSubjectSchema = z.enum(['job', 'batch', 'prediction']);

/**
 * One message to deliver. The delivery job is the parent of what it reports on (a BullMQ flow),
 * so BullMQ itself starts it once that job or batch has finished, completed or failed; there is no
 * event listener that could miss it. `body` is fixed at the first attempt so every retry sends
 * the same message under the same webhook-id (the job's id).
 */
export const DeliveryDataSchema = z.object({
  url: z.string(),
  subject: WebhookSubjectSchema,
  /** The job or batch ID. */
  id: z.string(),
  /**
   * The queue that job runs in (its model's queue once several models are served), so the
   * dispatcher reads it where it lives rather than assuming one queue.
   */
  queue: z.string(),
  /** Who submitted it (its views are read as that client). */
  owner: z.string().optional(),
  /** The origin the submission came through (`http://host:port`), for the absolute URLs of a prediction. */
  origin: z.string().optional(),
  body: z.string().optional(),
});
export type DeliveryData = z.infer<typeof DeliveryDataSchema>;

export interface WebhookRoute {
  queueName: string;
  /** Attempts, backoff and retention of delivery jobs. */
  jobOptions: JobsOptions;
}

export interface DeliveryPolicy {
  attempts: number;
  backoffMs: number;
  /** How long finished deliveries are kept (for the dashboard), seconds. */
  keepSeconds: number;
}

export function deliveryJobOptions(policy: DeliveryPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    removeOnComplete: { age: policy.keepSeconds },
    removeOnFail: { age: policy.keepSeconds },
  };
}

/**
 * Wraps `child` (a job or a batch) in a delivery job. The child ignores its own failure as a
 * dependency, so the delivery runs after a failure too, and reports it. `before` are deliveries
 * that must have been made (or have given up) first, such as a prediction's `start` event: as
 * children they hold the final message back until they are done.
 */
export function withDelivery(
  child: FlowJobNode,
  message: Omit<DeliveryData, 'body'>,
  route: WebhookRoute,
  before: readonly FlowJob[] = [],
): FlowJob {
  return {
    name: deliveryJobName,
    queueName: route.queueName,
    data: message,
    opts: { ...route.jobOptions, jobId: `msg_${message.id}` },
    children: [
      { ...child, opts: { ...child.opts, ignoreDependencyOnFailure: true } },
      ...before.map((early) => ({ ...early, opts: { ...early.opts, ignoreDependencyOnFailure: true } })),
    ],
  };
}

/**
 * A delivery whose body is fixed when it is queued: an event that reports a moment (a prediction
 * has started), not the final state. Its webhook-id is `msg_<id>_<event>`.
 */
export function eventDelivery(
  message: Omit<DeliveryData, 'body'>,
  event: string,
  body: string,
  route: WebhookRoute,
): FlowJob {
  return {
    name: deliveryJobName,
    queueName: route.queueName,
    data: { ...message, body },
    opts: { ...route.jobOptions, jobId: `msg_${message.id}_${event}` },
  };
}
