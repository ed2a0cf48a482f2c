import type Router from '@koa/router';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../error-handler.js';
import { requireCredentials } from '../require-credentials.js';

/** GET /metrics: Prometheus text format; behind METRICS_TOKEN when it is set, open otherwise. */
export function metricsRoute(router: Router<ApiState>, deps: ApiDeps): void {
  router.get('/metrics', requireCredentials(deps.operators.metricsCredentials, 'metrics', deps.clients.authFailures), async (ctx) => {
    const { registry } = deps.metrics;
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
}
