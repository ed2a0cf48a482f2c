import type { Context } from 'koa';
import { AppError } from '../errors.js';
import { PrioritySchema, type Priority } from '../queue/job-schemas.js';
import { resolveWebhookTarget, WebhookRefusedError } from '../webhook/address-guard.js';
import type { ApiDeps } from './deps.js';
import { parseParam } from './params.js';
import { WebhookUrlSchema } from './wire.js';

/** The per-submission choices shared by POST /jobs and POST /batches. */
export interface SubmitOptions {
  priority: Priority;
  /** A URL that passed the address guard at submit time (it is checked again at each delivery). */
  webhook?: string;
}

/**
 * A submission option from the query string, else from the parsed body (a multipart field, or a
 * JSON property once a JSON body has been parsed into ctx.request.body).
 */
export function submitValue(ctx: Context, name: string): unknown {
  const query = ctx.query[name];
  if (query !== undefined) return query;
  const body: unknown = ctx.request.body;
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
}

/**
 * Validates `priority` and `webhook`. A webhook is refused with 400 unless the service signs
 * webhooks (WEBHOOK_SECRET) and the URL passes the address guard (https, public addresses only,
 * unless its host is in WEBHOOK_ALLOW_HOSTS).
 */
export async function parseSubmitOptions(
  values: { priority?: unknown; webhook?: unknown },
  deps: Pick<ApiDeps, 'webhooks'>,
  defaults: { priority: Priority },
): Promise<SubmitOptions> {
  const priority = parseParam('priority', PrioritySchema.optional(), values.priority) ?? defaults.priority;
  const url = parseParam('webhook', WebhookUrlSchema.optional(), values.webhook);
  if (url === undefined) return { priority };
  if (!deps.webhooks.secret)
    throw new AppError(
      'invalid_request',
      'webhook: webhooks are not configured on this service (WEBHOOK_SECRET is unset)',
    );
  try {
    await resolveWebhookTarget(url, deps.webhooks.allowHosts);
  } catch (err) {
    if (err instanceof WebhookRefusedError) throw new AppError('invalid_request', `webhook: ${err.message}`);
    throw err;
  }
  return { priority, webhook: url };
}
