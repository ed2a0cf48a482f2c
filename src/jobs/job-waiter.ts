import type { QueueEvents } from 'bullmq';
import { isTerminal, type JobStatus } from '../api/wire.js';

/** What a completed event brings: the job's return value (BullMQ has parsed it). */
interface CompletedEvent {
  returnvalue: unknown;
}

type Wake = (completed?: CompletedEvent) => void;

/**
 * A completed event for a job the waiter has read before: its view then (`previous`: the job
 * exists and is the caller's) and the event's return value, from which a reader can build the
 * finished view with less than a whole read of the job.
 */
export interface Completion<V> {
  previous: V;
  returnvalue: unknown;
}

/** Reads a job's view: a whole read, or, given a completion, whatever that still needs. */
export type ReadView<V> = (completion?: Completion<V>) => Promise<V | undefined>;

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
  private readonly onEvent = ({ jobId }: { jobId: string }) => this.wakeAll(jobId);
  private readonly onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) =>
    this.wakeAll(jobId, { returnvalue });
  private readonly listener = (name: (typeof wakingEvents)[number]) =>
    name === 'completed' ? this.onCompleted : this.onEvent;

  private readonly events: readonly QueueEvents[];

  /** Job IDs are unique across queues, so one waiter serves the events of several. */
  constructor(events: QueueEvents | readonly QueueEvents[]) {
    this.events = Array.isArray(events) ? events : [events as QueueEvents];
    for (const source of this.events) for (const name of wakingEvents) source.on(name, this.listener(name));
  }

  private wakeAll(jobId: string, completed?: CompletedEvent): void {
    for (const wake of this.waiters.get(jobId) ?? []) wake(completed);
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
   * retried is not terminal. A completed event (always terminal) is handed to `read` with the view
   * read before it, so the reader can take the result from the event and read only what the event
   * lacks. Any view with a job status works: batches are waited for the same way, on their own
   * queue's events.
   */
  async wait<V extends { status: JobStatus }>(
    id: string,
    timeoutMs: number,
    read: ReadView<V>,
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
    read: ReadView<V>,
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
    read: ReadView<V>,
    until: { timeoutMs: number; signal?: AbortSignal },
  ): AsyncGenerator<V | undefined> {
    const { signal } = until;
    let wake: () => void = () => undefined;
    let woken: boolean;
    let completed: CompletedEvent | undefined;
    const onWake: Wake = (event) => {
      woken = true;
      completed ??= event;
      wake();
    };
    const onAbort = () => onWake();
    const set = this.waiters.get(id) ?? new Set<Wake>();
    this.waiters.set(id, set);
    set.add(onWake);
    const deadline = performance.now() + until.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    signal?.addEventListener('abort', onAbort);
    try {
      let view: V | undefined;
      for (;;) {
        woken = false;
        const completion = completed && view && { previous: view, returnvalue: completed.returnvalue };
        completed = undefined;
        view = await read(completion);
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
      signal?.removeEventListener('abort', onAbort);
      set.delete(onWake);
      if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
    }
  }

  /** Releases every waiter with its job's current view; the shared listeners are removed. */
  close(): void {
    this.closed = true;
    for (const source of this.events) for (const name of wakingEvents) source.off(name, this.listener(name));
    for (const set of this.waiters.values()) for (const wake of set) wake();
  }
}
