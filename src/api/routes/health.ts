import type Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../error-handler.js';

export const HealthSchema = z.object({ status: z.literal('ok') });
export const ReadySchema = z.object({
  status: z.literal('ready'),
  /** Workers with a loaded model connected to the queue. */
  workers: z.number().int().positive(),
  model: z.string(),
});

export function healthRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  /** Liveness: the process answers. Never touches Redis, so an outage does not get the API killed. */
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' } satisfies z.infer<typeof HealthSchema>;
  });

  /** Readiness: Redis answers and at least one worker with a loaded model is connected. */
  router.get('/readyz', async (ctx) => {
    const workers = await deps.store.workerCount();
    if (workers === 0) throw new AppError('unavailable', 'no worker with a loaded model is connected to the queue', { 'Retry-After': '5' });
    ctx.body = { status: 'ready', workers, model: deps.manifest.name } satisfies z.infer<typeof ReadySchema>;
  });
}
