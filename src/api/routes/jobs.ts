import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { TopkSchema } from '../../jobs.js';
import { acceptImage, waitForJob } from '../accept-image.js';
import { queueBackpressure, rateLimit, requireApiKey } from '../client-guards.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../error-handler.js';
import { isTerminal, type JobView } from '../job-view.js';
import { parseParam, preferWaitSeconds } from '../params.js';
import { parseSubmitOptions, submitValue } from '../submit-options.js';
import { multipartParser } from '../upload.js';

/** Default long-poll duration when ?timeout= is absent, seconds. */
const defaultWaitSeconds = 30;

/** `?deadline=` of a submission: seconds from now after which the job must not start. */
export const DeadlineSchema = z.coerce.number().int().min(1).max(30 * 86400).optional();
/** `?timeout=` of the long-poll, seconds (capped at WAIT_MAX_SECONDS). */
export const WaitTimeoutSchema = z.coerce.number().min(0);

/**
 * Terminal jobs answer 200. A job still queued or active answers 202 with its current view:
 * "accepted, not finished; ask again" (Location points at the job).
 */
function respond(ctx: Context, view: JobView): void {
  ctx.status = isTerminal(view.status) ? 200 : 202;
  if (ctx.status === 202) ctx.set('Location', view.links.self);
  ctx.body = view;
}

export function jobRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  const notFound = (id: string) => new AppError('not_found', `no job ${id} (unknown, malformed or expired)`);
  const clampWait = (seconds: number) => Math.min(seconds, deps.limits.waitMaxSeconds);
  const guards = [requireApiKey(deps.clients.apiKeyDigests), rateLimit(deps)];

  router.post('/jobs', ...guards, queueBackpressure(deps), multipartParser(deps.limits.maxUploadBytes), async (ctx) => {
    const topk = parseParam('topk', TopkSchema.optional(), ctx.query['topk']) ?? deps.manifest.topk;
    const deadline = parseParam('deadline', DeadlineSchema, ctx.query['deadline']) ?? deps.limits.defaultDeadlineSeconds;
    const preferWait = preferWaitSeconds(ctx.get('prefer'));
    const options = await parseSubmitOptions({ priority: submitValue(ctx, 'priority'), webhook: submitValue(ctx, 'webhook') }, deps, { priority: 'interactive' });
    const { view, replayed } = await acceptImage(ctx, deps, { topk, deadlineAt: deadline > 0 ? Date.now() + deadline * 1000 : undefined, ...options });
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    if (preferWait === undefined || preferWait === 0) return respond(ctx, view);
    const seconds = clampWait(preferWait);
    ctx.set('Preference-Applied', `wait=${seconds}`);
    respond(ctx, (await waitForJob(ctx, deps, view.id, seconds)) ?? view);
  });

  router.get('/jobs/:id', ...guards, async (ctx) => {
    const view = await deps.store.get(ctx.params['id']!, ctx.state.owner);
    if (!view) throw notFound(ctx.params['id']!);
    ctx.body = view;
  });

  router.get('/jobs/:id/wait', ...guards, async (ctx) => {
    const id = ctx.params['id']!;
    const timeout = parseParam('timeout', WaitTimeoutSchema.optional(), ctx.query['timeout']) ?? defaultWaitSeconds;
    const view = await waitForJob(ctx, deps, id, clampWait(timeout));
    if (!view) throw notFound(id);
    respond(ctx, view);
  });

  /** Cancels a queued job (200 with its final view); 409 once it is active or finished. */
  router.delete('/jobs/:id', ...guards, async (ctx) => {
    const view = await deps.store.cancel(ctx.params['id']!, ctx.state.owner);
    if (!view) throw notFound(ctx.params['id']!);
    ctx.body = view;
  });
}
