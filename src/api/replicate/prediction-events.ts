import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { AppError } from '../../errors.js';
import type { ApiState } from '../api-state.js';
import { clientGoneSignal } from '../client-gone.js';
import { jobReader } from '../accept-image.js';
import type { ApiDeps } from '../deps.js';
import { heartbeatMs } from '../job-events.js';
import type { JobView } from '../wire.js';
import { predictionStatus } from './prediction-view.js';

/** The events Replicate streams for a finished prediction: its output (or error), then `done`. */
function finalEvents(view: JobView): string {
  const event = (name: string, data: string) => `event: ${name}\ndata: ${data}\n\n`;
  const status = predictionStatus(view);
  if (status === 'succeeded') return event('output', JSON.stringify(view.result?.predictions)) + event('done', '{}');
  if (status === 'canceled') return event('done', JSON.stringify({ reason: 'canceled' }));
  return event('error', view.error?.message ?? 'failed') + event('done', JSON.stringify({ reason: 'error' }));
}

function goneEvents(id: string): string {
  return `event: error\ndata: prediction ${id} no longer exists\n\nevent: done\ndata: {"reason":"error"}\n\n`;
}

/**
 * GET /v1/predictions/{id}/stream: Server-Sent Events in Replicate's shape (what `replicate.stream`
 * reads). A classification has one output, so it comes whole once the job has finished: `output`
 * (the top-k list as JSON) then `done`; a failure is `error` then `done`, a cancellation `done`
 * with `{"reason": "canceled"}`. Driven by the shared JobWaiter, as GET /jobs/{id}/events is.
 */
export async function streamPrediction(ctx: Context & { state: ApiState }, deps: ApiDeps, id: string): Promise<void> {
  const events = deps.waiter.follow(id, jobReader(deps, id, ctx.state.owner), clientGoneSignal(ctx));
  const first = await events.next();
  if (first.done || !first.value)
    throw new AppError('not_found', `no prediction ${id} (unknown, malformed or expired)`);
  const stream = new PassThrough();
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('X-Accel-Buffering', 'no');
  ctx.body = stream;
  const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), heartbeatMs);
  void (async () => {
    try {
      let last: JobView | undefined = first.value;
      for await (const view of events) last = view;
      // Gone without a terminal event (expired, cleaned, a Redis that lost its data): say so and end.
      if (!last) stream.write(goneEvents(id));
      else if (last.status === 'completed' || last.status === 'failed') stream.write(finalEvents(last));
    } catch (err) {
      deps.log.warn({ err, jobId: id }, 'prediction stream ended by an error');
    } finally {
      clearInterval(heartbeat);
      stream.end();
    }
  })();
}
