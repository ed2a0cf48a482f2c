import type { Context } from 'koa';
import type { ApiState } from '../api-state.js';
import type { ApiDeps } from '../deps.js';
import { followEvents } from '../follow-events.js';
import { isTerminal, type JobView } from '../wire.js';
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
export function streamPrediction(ctx: Context & { state: ApiState }, deps: ApiDeps, id: string): Promise<void> {
  return followEvents(ctx, deps, id, 'prediction', async function* (first, rest) {
    let last: JobView | undefined = first;
    for await (const view of rest) last = view;
    // Gone without a terminal event (expired, cleaned, a Redis that lost its data): say so and end.
    if (!last) yield goneEvents(id);
    else if (isTerminal(last.status)) yield finalEvents(last);
  });
}
