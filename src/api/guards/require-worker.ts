import type { Context, Next } from 'koa';
import type { ApiState } from '../api-state.js';
import type { ApiDeps } from '../deps.js';

/**
 * Refuses submissions (503 no_worker, before the upload is read) while no worker has announced
 * the chosen model loaded: a job nobody can run would only wait out its TTL. During the start-up
 * grace period jobs are accepted anyway, so the workers of a fresh start have time to load. The
 * model is known here when the query names it or the body cannot (a raw image). A multipart or
 * JSON body may still name another, so then the default is only looked at: found live, it is
 * recorded (`liveModel`) and not asked again; otherwise the model the body names is checked once
 * it is read (chooseModel), so a body naming a served model is never refused for the default's sake.
 */
export function requireWorker(deps: Pick<ApiDeps, 'models' | 'acceptWithoutWorkerUntil'>) {
  return async (ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    const named = ctx.query['model'];
    const model = deps.models.pick(named);
    if (named !== undefined || !ctx.is('multipart', 'json')) {
      await deps.models.requireWorker(model, deps.acceptWithoutWorkerUntil);
      ctx.state.liveModel = model.name;
    } else if (await deps.models.isLive(model, deps.acceptWithoutWorkerUntil)) {
      ctx.state.liveModel = model.name;
    }
    await next();
  };
}
