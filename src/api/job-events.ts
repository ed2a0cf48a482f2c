import type { Context } from 'koa';
import type { ErrorBody } from '../errors.js';
import type { ApiDeps } from './deps.js';
import type { ApiState } from './api-state.js';
import { followEvents } from './follow-events.js';
import type { JobView } from './wire.js';

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
 * or after a `not_found` event when the job vanishes (checked with each heartbeat); an unknown
 * job is a plain 404 before any event.
 */
export function streamJobEvents(
  ctx: Context & { state: ApiState },
  deps: Pick<ApiDeps, 'models' | 'waiter' | 'log'>,
  id: string,
): Promise<void> {
  return followEvents(ctx, deps, id, 'job', async function* (first, rest) {
    yield sseEvent(first);
    for await (const view of rest) yield view ? sseEvent(view) : goneEvent(id);
  });
}
