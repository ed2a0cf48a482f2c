import { Readable } from 'node:stream';
import type Router from '@koa/router';
import { notFound } from '../../errors.js';
import { acceptBatch } from '../uploads/batch-intake.js';
import { clientGoneSignal } from '../client-gone.js';
import { queueBackpressure, rateLimit, requireApiKey } from '../guards/client-guards.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../api-state.js';
import { requireWorker } from '../guards/require-worker.js';
import { waitTimeoutSeconds } from '../params.js';
import { respondWithView } from './respond-with-view.js';

export function batchRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  const guards = [requireApiKey(deps.clients.apiKeyDigests, deps.clients.authFailures), rateLimit(deps)];

  router.post('/batches', ...guards, requireWorker(deps), queueBackpressure(deps), async (ctx) => {
    const { view, replayed } = await acceptBatch(ctx, deps);
    ctx.status = 202;
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.set('Location', view.links.self);
    ctx.body = { id: view.id, total: view.total, links: view.links };
  });

  router.get('/batches/:id', ...guards, async (ctx) => {
    const view = await deps.batches.get(ctx.params['id']!, ctx.state.owner);
    if (!view) throw notFound('batch', ctx.params['id']!);
    ctx.body = view;
  });

  router.get('/batches/:id/wait', ...guards, async (ctx) => {
    const id = ctx.params['id']!;
    const seconds = waitTimeoutSeconds(ctx.query['timeout'], deps.limits.waitMaxSeconds);
    const view = await deps.batchWaiter.wait(
      id,
      seconds * 1000,
      () => deps.batches.get(id, ctx.state.owner),
      clientGoneSignal(ctx),
    );
    if (!view) throw notFound('batch', id);
    respondWithView(ctx, view);
  });

  /** NDJSON, one line per image in upload order; lines of unfinished images carry their current status. */
  router.get('/batches/:id/results', ...guards, async (ctx) => {
    const id = ctx.params['id']!;
    if (!(await deps.batches.exists(id, ctx.state.owner))) throw notFound('batch', id);
    const lines = deps.batches.results(id, ctx.state.owner);
    ctx.type = 'application/x-ndjson';
    ctx.body = Readable.from(
      (async function* () {
        for await (const line of lines) yield `${JSON.stringify(line)}\n`;
      })(),
    );
  });
}
