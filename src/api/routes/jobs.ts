import type Router from '@koa/router';
import { notFound } from '../../errors.js';
import { acceptImage, appendEventTiming, deadlineAt, waitForJob } from '../uploads/accept-image.js';
import { queueBackpressure, rateLimit, requireApiKey } from '../guards/client-guards.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../api-state.js';
import { streamJobEvents } from '../job-events.js';
import { parseParam, preferWaitSeconds, waitTimeoutSeconds } from '../params.js';
import { requireWorker } from '../guards/require-worker.js';
import { parseSubmitOptions, submitValue } from '../submit-options.js';
import { SubmitQuerySchema } from '../wire.js';
import { respondWithView } from './respond-with-view.js';

export function jobRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  const guards = [requireApiKey(deps.clients.apiKeyDigests, deps.clients.authFailures), rateLimit(deps)];

  router.post('/jobs', ...guards, requireWorker(deps), queueBackpressure(deps), async (ctx) => {
    const topk = parseParam('topk', SubmitQuerySchema.shape.topk, ctx.query['topk']);
    const deadline = parseParam('deadline', SubmitQuerySchema.shape.deadline, ctx.query['deadline']);
    const preferWait = preferWaitSeconds(ctx.get('prefer'));
    // model, priority and webhook come from the query, else from text fields beside the image, read with it.
    const { view, replayed } = await acceptImage(
      ctx,
      deps,
      { topk, deadlineAt: deadlineAt(deps, deadline) },
      {
        fieldNames: ['priority', 'webhook'],
        parse: () =>
          parseSubmitOptions({ priority: submitValue(ctx, 'priority'), webhook: submitValue(ctx, 'webhook') }, deps, {
            priority: 'interactive',
          }),
      },
    );
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    if (preferWait === undefined || preferWait === 0) return respondWithView(ctx, view);
    const seconds = Math.min(preferWait, deps.limits.waitMaxSeconds);
    ctx.set('Preference-Applied', `wait=${seconds}`);
    const since = Date.now();
    const waited = (await waitForJob(ctx, deps, view.id, seconds)) ?? view;
    appendEventTiming(ctx, waited, since);
    respondWithView(ctx, waited);
  });

  router.get('/jobs/:id', ...guards, async (ctx) => {
    const view = await deps.models.getJob(ctx.params['id']!, ctx.state.owner);
    if (!view) throw notFound('job', ctx.params['id']!);
    ctx.body = view;
  });

  router.get('/jobs/:id/wait', ...guards, async (ctx) => {
    const id = ctx.params['id']!;
    const seconds = waitTimeoutSeconds(ctx.query['timeout'], deps.limits.waitMaxSeconds);
    const since = Date.now();
    const view = await waitForJob(ctx, deps, id, seconds);
    if (!view) throw notFound('job', id);
    appendEventTiming(ctx, view, since);
    respondWithView(ctx, view);
  });

  /** Server-Sent Events: queued, active, completed/failed, each with the job's view; ends after the last. */
  router.get('/jobs/:id/events', ...guards, (ctx) => streamJobEvents(ctx, deps, ctx.params['id']!));

  /** Cancels a queued job (200 with its final view); 409 once it is active or finished. */
  router.delete('/jobs/:id', ...guards, async (ctx) => {
    const view = await deps.models.cancelJob(ctx.params['id']!, ctx.state.owner);
    if (!view) throw notFound('job', ctx.params['id']!);
    ctx.body = view;
  });
}
