import type { Context } from 'koa';
import { isTerminal, type JobStatus } from '../wire.js';

/**
 * Answers a job's or a batch's view. A finished one answers 200; one still queued or active answers
 * 202 with its current view: "accepted, not finished; ask again" (Location points at it).
 */
export function respondWithView(ctx: Context, view: { status: JobStatus; links: { self: string } }): void {
  ctx.status = isTerminal(view.status) ? 200 : 202;
  if (ctx.status === 202) ctx.set('Location', view.links.self);
  ctx.body = view;
}
