import type Router from '@koa/router';
import { renderMetrics } from '../../render-metrics.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../api-state.js';
import { requireCredentials } from '../guards/require-credentials.js';

/** GET /metrics: Prometheus text format; behind METRICS_TOKEN when it is set, open otherwise. */
export function metricsRoute(router: Router<ApiState>, deps: ApiDeps): void {
  router.get(
    '/metrics',
    requireCredentials(deps.operators.metricsCredentials, 'metrics', deps.clients.authFailures),
    async (ctx) => {
      const { contentType, body } = await renderMetrics(deps.metrics.registry);
      ctx.type = contentType;
      ctx.body = body;
    },
  );
}
