import type Router from '@koa/router';
import type { z } from 'zod';
import { AppError, notFound } from '../../errors.js';
import { publicOrigin } from './public-origin.js';
import type { ApiState } from '../api-state.js';
import { rateLimit, requireApiKey } from '../guards/client-guards.js';
import type { ApiDeps } from '../deps.js';
import { parseParam } from '../params.js';
import { createPrediction } from './create-prediction.js';
import { streamPrediction } from './prediction-events.js';
import {
  ModelPredictionRequestSchema,
  PredictionListQuerySchema,
  PredictionRequestSchema,
  type PredictionPageSchema,
  type ReplicateModelSchema,
  type WebhookSecretSchema,
} from './wire.js';

/** When this process began serving its models: the versions' creation time as far as this API knows. */
const servedSince = new Date().toISOString();

/**
 * The Replicate-compatible predictions API under /v1, for the official `replicate` clients: a
 * second door to the same jobs (same keys, limits, queue and webhook signer). Models are
 * `{owner}/{name}` with any owner (`local` in the docs) and a served model's name.
 */
export function replicateRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  const { replicate } = deps;
  const guards = [requireApiKey(deps.clients.apiKeyDigests, deps.clients.authFailures), rateLimit(deps)];

  router.post('/v1/predictions', ...guards, async (ctx) => {
    ctx.body = await createPrediction(ctx, deps, PredictionRequestSchema, (request) =>
      replicate.versions.resolve(request.version),
    );
    ctx.status = 201;
  });

  router.post('/v1/models/:owner/:name/predictions', ...guards, async (ctx) => {
    const model = deps.models.pick(ctx.params['name']);
    ctx.body = await createPrediction(ctx, deps, ModelPredictionRequestSchema, () => Promise.resolve(model));
    ctx.status = 201;
  });

  router.get('/v1/predictions', ...guards, async (ctx) => {
    const cursor = parseParam('cursor', PredictionListQuerySchema.shape.cursor, ctx.query['cursor']);
    const page = await replicate.predictions.list(
      { owner: ctx.state.owner, client: ctx.ip },
      publicOrigin(ctx),
      cursor,
    );
    ctx.body = {
      previous: null,
      next:
        page.next === undefined ? null : `${publicOrigin(ctx)}/v1/predictions?cursor=${encodeURIComponent(page.next)}`,
      results: page.results,
    } satisfies z.infer<typeof PredictionPageSchema>;
  });

  router.get('/v1/predictions/:id', ...guards, async (ctx) => {
    const prediction = await replicate.predictions.get(ctx.params['id']!, ctx.state.owner, publicOrigin(ctx));
    if (!prediction) throw notFound('prediction', ctx.params['id']!);
    ctx.body = prediction;
  });

  /** A queued prediction is cancelled; a finished one is returned as it is; a running one answers 409. */
  router.post('/v1/predictions/:id/cancel', ...guards, async (ctx) => {
    const id = ctx.params['id']!;
    try {
      if (!(await deps.models.cancelJob(id, ctx.state.owner))) throw notFound('prediction', id);
    } catch (err) {
      const view =
        err instanceof AppError && err.code === 'not_cancellable'
          ? await deps.models.getJob(id, ctx.state.owner)
          : undefined;
      if (view?.status !== 'completed' && view?.status !== 'failed') throw err;
    }
    ctx.body = await replicate.predictions.get(id, ctx.state.owner, publicOrigin(ctx));
  });

  router.get('/v1/predictions/:id/stream', ...guards, (ctx) => streamPrediction(ctx, deps, ctx.params['id']!));

  router.get('/v1/models/:owner/:name', ...guards, async (ctx) => {
    const { owner, name } = ctx.params as { owner: string; name: string };
    const model = deps.models.pick(name);
    const version = await replicate.versions.of(model.name);
    ctx.body = {
      url: `${publicOrigin(ctx)}/v1/models/${owner}/${model.name}`,
      owner,
      name: model.name,
      description: `Image classification with ${model.name} (${model.classes ?? 'its'} classes) through the job queue.`,
      visibility: 'public',
      github_url: null,
      paper_url: null,
      license_url: null,
      run_count: 0,
      cover_image_url: null,
      default_example: null,
      latest_version: version ? { id: version, created_at: servedSince, cog_version: null, openapi_schema: {} } : null,
    } satisfies z.infer<typeof ReplicateModelSchema>;
  });

  /**
   * The signing secret, for validateWebhook: only to a caller with one of API_KEYS (each key may
   * submit webhooks, so each needs it to verify them); an open API never hands it out, since anyone
   * who can reach it could then sign messages in this service's name.
   */
  router.get('/v1/webhooks/default/secret', ...guards, (ctx) => {
    if (!replicate.webhookSecret)
      throw new AppError('not_found', 'webhooks are not configured on this service (WEBHOOK_SECRET is unset)');
    if (ctx.state.owner === undefined)
      throw new AppError('forbidden', 'the webhook secret is only given to API keys: set API_KEYS to read it here');
    ctx.body = { key: replicate.webhookSecret } satisfies z.infer<typeof WebhookSecretSchema>;
  });
}
