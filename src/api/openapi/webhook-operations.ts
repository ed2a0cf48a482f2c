import type { OpenApiDocument, Operation, Parameter } from './openapi-document.js';
import { jsonOf } from './schema-fragments.js';

const retries =
  'Any 2xx answer accepts it; anything else (or no answer within WEBHOOK_TIMEOUT_MS) is retried with exponential ' +
  'backoff from WEBHOOK_BACKOFF_MS, up to WEBHOOK_ATTEMPTS attempts, with the same webhook-id and body. ' +
  'Redirects are not followed.';

/** The signed POST a webhook URL receives, its body the component `schemaId`. */
function webhookOperation(summary: string, sent: string, messageId: string, schemaId: string): { post: Operation } {
  const header = (name: string, description: string): Parameter => ({
    name,
    in: 'header',
    required: true,
    description,
    schema: { type: 'string' },
  });
  return {
    post: {
      tags: ['webhooks'],
      summary,
      description: `${sent} ${retries}`,
      parameters: [
        header('webhook-id', `The message ID (${messageId}), the same on every retry: deduplicate on it.`),
        header('webhook-timestamp', 'Seconds since the epoch when this attempt was signed.'),
        header(
          'webhook-signature',
          '`v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded ' +
            'part of WEBHOOK_SECRET (`whsec_…`).',
        ),
      ],
      requestBody: { required: true, description: 'The message.', content: jsonOf(schemaId) },
      responses: {
        '2XX': { description: 'Accepted: not delivered again.' },
        default: { description: 'Not accepted: retried.' },
      },
    },
  };
}

const finished = 'Sent from its own queue once the subject has finished.';

/** What this service POSTs to a `webhook` given at submission; the dispatcher parses each body with its schema. */
export function webhookOperations(): OpenApiDocument['webhooks'] {
  return {
    jobFinished: webhookOperation(
      'A job has completed or failed',
      finished,
      '`msg_<job or batch id>`',
      'JobWebhookMessage',
    ),
    batchFinished: webhookOperation(
      'Every image of a batch has finished',
      finished,
      '`msg_<job or batch id>`',
      'BatchWebhookMessage',
    ),
    predictionEvent: webhookOperation(
      'A prediction has started or finished (POST /v1/predictions)',
      'The prediction itself, as Replicate sends it, for each event `webhook_events_filter` lets through (default ' +
        'all): `start` at once when it is created (status `starting`), then `completed` from its own queue once it ' +
        'has finished.',
      '`msg_<prediction id>_start`, then `msg_<prediction id>`',
      'ReplicatePrediction',
    ),
  };
}
