import type { DeliveryData } from '../webhook/webhook-queue.js';
import { ReplicatePredictionSchema, type ReplicatePrediction } from './replicate/wire.js';
import {
  BatchMessageSchema,
  JobMessageSchema,
  type BatchMessage,
  type BatchView,
  type JobMessage,
  type JobView,
} from './wire.js';

/** Reads the current view of what a delivery reports on (in its queue), as its submitter would. */
export type ReadView = (
  delivery: Pick<DeliveryData, 'subject' | 'id' | 'queue' | 'owner' | 'origin'>,
) => Promise<JobView | BatchView | ReplicatePrediction | undefined>;

/** What a webhook receives: the document's `webhooks`. */
export type WebhookMessage = JobMessage | BatchMessage | ReplicatePrediction;

/**
 * The message reporting `view`, parsed with its published schema: a prediction as itself, as
 * Replicate sends it; a job or batch in Standard Webhooks' envelope. A view the schema refuses (a
 * job not finished yet) throws, so the attempt is retried rather than an undocumented body sent.
 */
export function webhookMessage(
  subject: DeliveryData['subject'],
  view: JobView | BatchView | ReplicatePrediction,
  at: Date,
): WebhookMessage {
  if (subject === 'prediction') return ReplicatePredictionSchema.parse(view);
  const envelope = { type: `${subject}.${view.status}`, timestamp: at.toISOString(), data: view };
  return subject === 'job' ? JobMessageSchema.parse(envelope) : BatchMessageSchema.parse(envelope);
}

/** What the webhook dispatcher calls at a delivery's first attempt: the current view, as its message. */
export const composeWebhookMessage =
  (readView: ReadView) =>
  async (delivery: Parameters<ReadView>[0], at: Date): Promise<WebhookMessage | undefined> => {
    const view = await readView(delivery);
    return view && webhookMessage(delivery.subject, view, at);
  };
