import Router from '@koa/router';
import Koa from 'koa';
import type { ApiDeps } from './deps.js';
import { errorHandler, type ApiState } from './error-handler.js';
import { requestLog } from './request-log.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { predictRoute } from './routes/predict.js';
import { webPageRoutes } from './routes/web-page.js';

/** Builds the Koa application; it never listens, so tests and entry points decide how to serve it. */
export function createApp(deps: ApiDeps): Koa<ApiState> {
  const app = new Koa<ApiState>();
  const router = new Router<ApiState>();
  healthRoutes(router, deps);
  jobRoutes(router, deps);
  predictRoute(router, deps);
  webPageRoutes(router);
  app.use(requestLog(deps.log));
  app.use(errorHandler);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
