import type Router from '@koa/router';
import { AppError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../error-handler.js';

export function healthRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  /** Liveness: the process answers. Never touches Redis, so an outage does not get the API killed. */
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  /** Readiness: Redis answers and at least one worker with a loaded model is connected. */
  router.get('/readyz', async (ctx) => {
    const workers = await deps.store.workerCount();
    if (workers === 0) throw new AppError('unavailable', 'no worker with a loaded model is connected to the queue', { 'Retry-After': '5' });
    ctx.body = { status: 'ready', workers, model: deps.manifest.name };
  });
}
