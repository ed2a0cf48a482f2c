import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { AppError, type ErrorBody } from '../errors.js';
import { clientGoneSignal } from './client-gone.js';
import { jobReader } from './accept-image.js';
import type { ApiDeps } from './deps.js';
import type { ApiState } from './api-state.js';
import type { JobView } from './wire.js';

/** A comment line this often keeps proxies and browsers from dropping a quiet stream, ms. */
export const heartbeatMs = 15_000;

/** One Server-Sent Event: its name is the job's status, its data the job's view (JSON, one line). */
const sseEvent = (view: JobView) => `event: ${view.status}\ndata: ${JSON.stringify(view)}\n\n`;

/**
 * The last event of a job that vanished while followed (its Redis restarted without persistence,
 * or it was cleaned from the dashboard): the error GET /jobs/:id now answers.
 */
const goneEvent = (id: string) => {
  const body: ErrorBody = { error: { code: 'not_found', message: `job ${id} no longer exists` } };
  return `event: not_found\ndata: ${JSON.stringify(body)}\n\n`;
};

/**
 * GET /jobs/:id/events: the job as Server-Sent Events, `queued`, `active`, then `completed` or
 * `failed`, each carrying the view GET /jobs/:id answers; the stream ends after the terminal
 * event (an EventSource must close() then, or it reconnects and gets the terminal event again),
 * or after a `not_found` event when the job vanishes (checked with each heartbeat).
 * Driven by the shared JobWaiter (no polling); an unknown job is a plain 404 before any event.
 * When the client goes away the follow is aborted and its wake-up unregistered.
 */
export async function streamJobEvents(
  ctx: Context & { state: ApiState },
  deps: Pick<ApiDeps, 'models' | 'waiter' | 'log'>,
  id: string,
): Promise<void> {
  const events = deps.waiter.follow(id, jobReader(deps, id, ctx.state.owner), clientGoneSignal(ctx));
  // The first view decides between a stream and a 404, so errors before it are ordinary answers.
  const first = await events.next();
  if (first.done || !first.value) throw new AppError('not_found', `no job ${id} (unknown, malformed or expired)`);

  const stream = new PassThrough();
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('X-Accel-Buffering', 'no');
  ctx.body = stream;
  stream.write(sseEvent(first.value));
  const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), heartbeatMs);
  void (async () => {
    try {
      for await (const view of events) stream.write(view ? sseEvent(view) : goneEvent(id));
    } catch (err) {
      // Redis lost mid-stream: end it; the client reconnects or asks GET /jobs/:id.
      deps.log.warn({ err, jobId: id }, 'job event stream ended by an error');
    } finally {
      clearInterval(heartbeat);
      stream.end();
    }
  })();
}
