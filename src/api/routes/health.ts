import type Router from '@koa/router';
import type { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ApiState } from '../api-state.js';
import type { ApiDeps } from '../deps.js';
import { retryAfterSeconds } from '../job-store.js';
import type { HealthSchema, ReadySchema } from '../wire.js';

export function healthRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  /** Liveness: the process answers. Never touches Redis, so an outage does not get the API killed. */
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' } satisfies z.infer<typeof HealthSchema>;
  });

  /** Readiness: Redis answers and at least one worker has announced the default model loaded. */
  router.get('/readyz', async (ctx) => {
    const model = deps.models.defaultModel;
    const workers = await model.store.workerCount();
    if (workers === 0) {
      throw new AppError(
        'no_worker',
        'no worker with a loaded model is running',
        { 'Retry-After': String(retryAfterSeconds) },
        { expose: true },
      );
    }
    ctx.body = { status: 'ready', workers, model: model.name, precision: await model.precision } satisfies z.infer<
      typeof ReadySchema
    >;
  });
}
