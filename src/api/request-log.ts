import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../logger.js';
import type { ApiState } from './api-state.js';

const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/;

/** Probed every few seconds by orchestrators: their successes are logged at debug, not info. */
const probePaths = new Set(['/healthz', '/readyz']);

/** Gives each request an id (the caller's X-Request-Id when sane) and logs one line when it ends. */
export function requestLog(log: Logger) {
  return async (ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    const started = performance.now();
    const incoming = ctx.get('x-request-id');
    const requestId = acceptableId.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ reqId: requestId });
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const level = probePaths.has(ctx.path) && ctx.status < 400 ? 'debug' : 'info';
      ctx.state.log[level](
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'request',
      );
    }
  };
}
