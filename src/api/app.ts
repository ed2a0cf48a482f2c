import Router from '@koa/router';
import Koa from 'koa';
import { hasCredentials } from '../credentials.js';
import { dashboard } from './dashboard.js';
import type { ApiDeps } from './deps.js';
import type { ApiState } from './api-state.js';
import { errorHandler } from './error-handler.js';
import { httpMetrics } from './http-metrics.js';
import { requestLog } from './request-log.js';
import { securityHeaders } from './guards/security-headers.js';
import { batchRoutes } from './routes/batches.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoute } from './routes/metrics.js';
import { modelRoutes } from './routes/models.js';
import { predictRoute } from './routes/predict.js';
import { webPageRoutes } from './routes/web-page.js';
import { openInferenceRoutes } from './open-inference/open-inference-routes.js';
import { fileRoutes } from './replicate/file-routes.js';
import { replicateRoutes } from './replicate/replicate-routes.js';

/** Every route of the API; the OpenAPI document must describe each one (a test checks it). */
export function createRouter(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  healthRoutes(router, deps);
  modelRoutes(router, deps);
  jobRoutes(router, deps);
  batchRoutes(router, deps);
  predictRoute(router, deps);
  webPageRoutes(router, deps.limits.maxUploadBytes);
  metricsRoute(router, deps);
  docsRoutes(router);
  replicateRoutes(router, deps);
  fileRoutes(router, deps);
  openInferenceRoutes(router, deps);
  return router;
}

/** Builds the Koa application; it never listens, so tests and entry points decide how to serve it. */
export function createApp(deps: ApiDeps): Koa<ApiState> {
  // With N trusted proxies, ctx.ip is the N-th X-Forwarded-For entry from the right: entries a
  // client wrote itself sit further left and are never read (so they cannot dodge the rate limit).
  const hops = deps.clients.trustedProxyHops;
  const app = new Koa<ApiState>({ proxy: hops > 0, maxIpsCount: hops });
  const router = createRouter(deps);
  app.use(requestLog(deps.log));
  app.use(securityHeaders());
  app.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(httpMetrics(deps.metrics));
  app.use(errorHandler);
  if (hasCredentials(deps.operators.dashboardCredentials))
    app.use(dashboard(deps.operators.dashboardQueues, deps.operators.dashboardCredentials, deps.clients.authFailures));
  app.use(router.routes());
  // Not thrown: the router then sets Allow, which the error handler passes on with its 405.
  app.use(router.allowedMethods());
  // Only Bull Board emits these (it renders its own errors, then reports them): log them, not console.error.
  // A client leaving its event stream (SSE) is routine: debug, or every closed tab logs a warning.
  app.on('error', (err: NodeJS.ErrnoException) =>
    err?.code === 'ERR_STREAM_PREMATURE_CLOSE'
      ? deps.log.debug({ err }, 'dashboard client went away')
      : deps.log.warn({ err }, 'dashboard error'),
  );
  return app;
}
