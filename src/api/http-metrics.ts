import type { Context, Next } from 'koa';
import type { ApiMetrics } from './api-metrics.js';
import type { ApiState } from './api-state.js';

/**
 * Counts each request under its route pattern (`/jobs/:id`), never its raw path: one series per
 * route, however many job IDs or scanners' URLs pass through. Requests no route matched share
 * `unmatched`. Sits outside the error handler, so it records the status actually sent.
 */
export function httpMetrics(metrics: ApiMetrics) {
  return async (ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    const stop = metrics.httpRequestSeconds.startTimer();
    try {
      await next();
    } finally {
      const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const route = ctx.state.route ?? (typeof matched === 'string' ? matched : 'unmatched');
      stop({ method: ctx.method, route });
      metrics.httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
    }
  };
}
