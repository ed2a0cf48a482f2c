import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Queue } from 'bullmq';
import type { Context, Middleware, Next } from 'koa';
import type { Credentials } from '../credentials.js';
import type { ApiState } from './api-state.js';
import type { AuthFailures } from './guards/auth-failures.js';
import { rejectCrossSite } from './guards/cross-site.js';
import { sendContinue } from './expect-continue.js';
import { requireCredentials } from './guards/require-credentials.js';
import { pagePolicy } from './guards/security-headers.js';

/** A queue as the dashboard lists it: the sidebar shows `displayName` rather than the queue's key name. */
export interface DashboardQueue {
  queue: Queue;
  displayName: string;
  description: string;
}

/** Where Bull Board is mounted. */
export const dashboardPath = '/admin/queues';

/**
 * What Bull Board's page needs: its own scripts, styles and JSON API, inline styles (its loading
 * screen and React's style attributes), and its `<base href="/admin/queues/">` (its asset URLs are
 * relative to it). Its Google Fonts stylesheet is not allowed: the operator's browser asks no third
 * party, and the page falls back to a system font.
 */
const boardPolicy = pagePolicy({
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
});

/**
 * Bull Board over every queue (each model's, the batches', the webhook deliveries'), behind
 * credentials: it can retry, delete and add jobs. It is its own Koa app (with its own JSON body
 * parser) mounted under dashboardPath, beside the router rather than in it, so our upload reader
 * never sees its requests.
 * Everything under the path, static files included, is checked before Bull Board runs; a refusal
 * is rendered by our error handler like any other error. Basic credentials are sent by the
 * browser on its own, so a state-changing call from another site is refused (`rejectCrossSite`).
 */
export function dashboard(
  queues: readonly DashboardQueue[],
  credentials: Credentials,
  failures: AuthFailures,
): Middleware<ApiState> {
  const adapter = new KoaAdapter();
  adapter.setBasePath(dashboardPath);
  createBullBoard({
    queues: queues.map(({ queue, displayName, description }) => new BullMQAdapter(queue, { displayName, description })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'resnet-queue' } },
  });
  // Bull Board types its middleware for Koa's default state; it never reads ours.
  const board = adapter.registerPlugin() as unknown as (ctx: Context, next: Next) => Promise<void>;
  const guard = requireCredentials(credentials, 'dashboard', failures);
  return async (ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    if (ctx.path !== dashboardPath && !ctx.path.startsWith(`${dashboardPath}/`)) {
      await next();
      return;
    }
    // One metrics series for the whole dashboard, whatever Bull Board's own router matched.
    ctx.state.route = `${dashboardPath}/*`;
    rejectCrossSite(ctx);
    // Its body parser knows nothing of a deferred `Expect: 100-continue`: go on once the caller is let in.
    await boardPolicy(ctx, () =>
      guard(ctx, () => {
        sendContinue(ctx.res);
        return board(ctx, next);
      }),
    );
  };
}
