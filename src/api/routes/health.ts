import type Router from '@koa/router';
import type { z } from 'zod';
import { retryLater, unavailable } from '../../errors.js';
import type { ApiState } from '../api-state.js';
import type { ApiDeps } from '../deps.js';
import { modelReadiness, notReadySentence } from '../readiness.js';
import type { HealthSchema, ReadySchema } from '../wire.js';

export function healthRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  /** Liveness: the process answers. Never touches Redis, so an outage does not get the API killed. */
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' } satisfies z.infer<typeof HealthSchema>;
  });

  /**
   * Readiness: Redis answers, and every served model has a live worker and a queue that is not
   * paused; a model that is not ready makes the whole API not ready, since its submissions would wait
   * or get 503. The body lists each model's state.
   */
  router.get('/readyz', async (ctx) => {
    const states = await modelReadiness(deps.models.models).catch((err: unknown) => {
      throw unavailable('not ready: Redis does not answer', { cause: err, expose: true });
    });
    if (states.some((s) => s.state !== 'ready')) {
      throw retryLater('no_worker', `not ready: ${notReadySentence(states)}`, { expose: true });
    }
    const model = deps.models.defaultModel;
    ctx.body = {
      status: 'ready',
      workers: states.find((s) => s.name === model.name)!.workers,
      model: model.name,
      precision: await model.precision,
      models: states,
    } satisfies z.infer<typeof ReadySchema>;
  });
}
