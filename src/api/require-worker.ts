import type { Context, Next } from 'koa';
import type { ApiState } from './api-state.js';
import type { ApiDeps } from './deps.js';

/**
 * Refuses submissions (503 no_worker, before the upload is read) while no worker has announced
 * the chosen model loaded: a job nobody can run would only wait out its TTL. During the start-up
 * grace period jobs are accepted anyway, so the workers of a fresh start have time to load. The
 * model is known here when the query names it or the body cannot (a raw image); a multipart
 * field or JSON property naming it is checked once the body is read (acceptImage, acceptBatch).
 */
export function requireWorker(deps: Pick<ApiDeps, 'models' | 'acceptWithoutWorkerUntil'>) {
  return async (ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    const named = ctx.query['model'];
    // Only a multipart or JSON body can carry `model` beside the image.
    if (named !== undefined || !ctx.is('multipart', 'json')) await deps.models.requireWorker(deps.models.pick(named), deps.acceptWithoutWorkerUntil);
    await next();
  };
}
