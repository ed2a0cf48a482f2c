import type { QueueEvents } from 'bullmq';
import { isTerminal, type JobStatus } from '../api/wire.js';

type Wake = () => void;

/**
 * How often a waiting job is read again without an event, ms: a job can vanish without one (a
 * Redis restarted without persistence, a clean from the dashboard), and a waiter must then end
 * with not_found instead of waiting out its timeout.
 */
export const recheckMs = 15_000;

/** The queue events that can change what a job's view shows. */
const wakingEvents = ['active', 'completed', 'failed', 'removed'] as const;

/**
 * Long-poll and SSE support over shared QueueEvents (one per queue: each model's, or the batch
 * queue's): each waiter registers a wake-up callback under its job ID, and the queue-event
 * listeners call those of the job concerned.
 * Registering happens before the job is read (subscribe, then check), so a job that changes in
 * between is never missed, and one that finished long ago answers at once.
 * Each QueueEvents gets four listeners (active, completed, failed, removed), however many clients
 * wait or follow.
 */
export class JobWaiter {
  private readonly waiters = new Map<string, Set<Wake>>();
  private closed = false;
  private readonly onEvent = ({ jobId }: { jobId: string }) => {
    for (const wake of this.waiters.get(jobId) ?? []) wake();
  };

  private readonly events: readonly QueueEvents[];

  /** Job IDs are unique across queues, so one waiter serves the events of several. */
  constructor(events: QueueEvents | readonly QueueEvents[]) {
    this.events = Array.isArray(events) ? events : [events as QueueEvents];
    for (const source of this.events) for (const name of wakingEvents) source.on(name, this.onEvent);
  }

  /** Listeners on the shared QueueEvents for the events that wake waiters (for tests: four per queue). */
  get listenerCount(): number {
    return this.events.reduce(
      (total, source) => wakingEvents.reduce((n, name) => n + source.listenerCount(name), total),
      0,
    );
  }

  /** Clients currently waiting or following (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Resolves with the job once it is terminal, or with its latest view when `timeoutMs` passes,
   * `signal` aborts (client gone) or the waiter closes. Undefined if the job does not exist.
   * A wake-up re-reads the job rather than trusting the event: a failed attempt that will be
   * retried is not terminal. Any view with a job status works: batches are waited for the same
   * way, on their own queue's events.
   */
  async wait<V extends { status: JobStatus }>(
    id: string,
    timeoutMs: number,
    read: () => Promise<V | undefined>,
    signal?: AbortSignal,
  ): Promise<V | undefined> {
    let last: V | undefined;
    for await (const view of this.watch(id, read, { timeoutMs, signal })) last = view;
    return last;
  }

  /**
   * Yields the job's view when it is first read and then each time its status changes, until it
   * is terminal, it is gone (then undefined is the last value), `signal` aborts or the waiter
   * closes (for GET /jobs/:id/events). Yields only undefined if the job does not exist.
   */
  async *follow<V extends { status: JobStatus }>(
    id: string,
    read: () => Promise<V | undefined>,
    signal?: AbortSignal,
  ): AsyncGenerator<V | undefined> {
    let status: JobStatus | undefined;
    for await (const view of this.watch(id, read, { timeoutMs: Infinity, signal })) {
      if (!view || view.status !== status) yield view;
      status = view?.status;
    }
  }

  /**
   * Every view read: one at once, then one per wake-up or `recheckMs`, ending after a terminal
   * or undefined (gone) view, the deadline, an abort or close(). The wake-up is registered before
   * the first read and removed when the caller stops iterating, however it stops.
   */
  private async *watch<V extends { status: JobStatus }>(
    id: string,
    read: () => Promise<V | undefined>,
    until: { timeoutMs: number; signal?: AbortSignal },
  ): AsyncGenerator<V | undefined> {
    const { signal } = until;
    let wake: Wake = () => undefined;
    let woken: boolean;
    const onWake: Wake = () => {
      woken = true;
      wake();
    };
    const set = this.waiters.get(id) ?? new Set<Wake>();
    this.waiters.set(id, set);
    set.add(onWake);
    const deadline = performance.now() + until.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    signal?.addEventListener('abort', onWake);
    try {
      for (;;) {
        woken = false;
        const view = await read();
        yield view;
        if (!view) return;
        const remainingMs = deadline - performance.now();
        if (isTerminal(view.status) || remainingMs <= 0 || this.closed || signal?.aborted) return;
        if (!woken) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, Math.min(remainingMs, recheckMs));
          });
          clearTimeout(timer);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onWake);
      set.delete(onWake);
      if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
    }
  }

  /** Releases every waiter with its job's current view; the shared listeners are removed. */
  close(): void {
    this.closed = true;
    for (const source of this.events) for (const name of wakingEvents) source.off(name, this.onEvent);
    for (const set of this.waiters.values()) for (const wake of set) wake();
  }
}
