import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { notFound } from '../errors.js';
import type { ApiState } from './api-state.js';
import { clientGoneSignal } from './client-gone.js';
import { jobReader } from './job-reader.js';
import type { ApiDeps } from './deps.js';
import type { JobView } from './wire.js';

/** A comment line this often keeps proxies and browsers from dropping a quiet stream, ms. */
export const heartbeatMs = 15_000;

/**
 * Answers job `id` as a stream of Server-Sent Events whose text `render` makes from its views: the
 * first, then each change (undefined: the job vanished). Driven by the shared JobWaiter (no
 * polling). The first view decides between a stream and a 404 naming `what`, so errors before it
 * are ordinary answers. The stream ends when `render` does, when the client goes away (the follow
 * is aborted and its wake-up unregistered) or on a Redis error (logged; the client reconnects).
 */
export async function followEvents(
  ctx: Context & { state: ApiState },
  deps: Pick<ApiDeps, 'models' | 'waiter' | 'log'>,
  id: string,
  what: 'job' | 'prediction',
  render: (first: JobView, rest: AsyncIterable<JobView | undefined>) => AsyncIterable<string>,
): Promise<void> {
  const events = deps.waiter.follow(id, jobReader(deps, id, ctx.state.owner), clientGoneSignal(ctx));
  const next = await events.next();
  if (next.done || !next.value) throw notFound(what, id);
  const first = next.value;

  const stream = new PassThrough();
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('X-Accel-Buffering', 'no');
  ctx.body = stream;
  const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), heartbeatMs);
  void (async () => {
    try {
      for await (const text of render(first, events)) stream.write(text);
    } catch (err) {
      deps.log.warn({ err, jobId: id }, `${what} event stream ended by an error`);
    } finally {
      clearInterval(heartbeat);
      stream.end();
    }
  })();
}
