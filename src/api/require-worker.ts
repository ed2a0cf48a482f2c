import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';
import type { ApiState } from './api-state.js';
import type { ApiDeps } from './deps.js';
import { retryAfterSeconds } from './job-store.js';

/**
 * Refuses submissions (503 no_worker, before the upload is read) while no worker has announced a
 * loaded model: a job nobody can run would only wait out its TTL. During the start-up grace period
 * jobs are accepted anyway, so the workers of a fresh start have time to load their model.
 */
export function requireWorker(deps: Pick<ApiDeps, 'store' | 'acceptWithoutWorkerUntil'>) {
  return async (_ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    if (Date.now() >= deps.acceptWithoutWorkerUntil && (await deps.store.workerCount()) === 0) {
      throw new AppError('no_worker', 'no worker with a loaded model is running; retry later', { 'Retry-After': String(retryAfterSeconds) }, { expose: true });
    }
    await next();
  };
}
