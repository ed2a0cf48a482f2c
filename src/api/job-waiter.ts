import type { QueueEvents } from 'bullmq';
import { isTerminal, type JobStatus } from './wire.js';

type Wake = () => void;

/**
 * Long-poll support over one shared QueueEvents per process: each waiter registers a wake-up
 * callback under its job ID, and the two queue-event listeners call those of the finished job.
 * Registering happens before the job is read (subscribe, then check), so a job that finishes in
 * between is never missed, and one that finished long ago answers at once.
 * There are never more than three listeners (completed, failed, removed), however many clients wait.
 */
export class JobWaiter {
  private readonly waiters = new Map<string, Set<Wake>>();
  private closed = false;
  private readonly onFinished = ({ jobId }: { jobId: string }) => {
    for (const wake of this.waiters.get(jobId) ?? []) wake();
  };

  constructor(private readonly events: QueueEvents) {
    events.on('completed', this.onFinished);
    events.on('failed', this.onFinished);
    events.on('removed', this.onFinished);
  }

  /** Clients currently waiting (for metrics and tests). */
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
  async wait<V extends { status: JobStatus }>(id: string, timeoutMs: number, read: () => Promise<V | undefined>, signal?: AbortSignal): Promise<V | undefined> {
    let wake: Wake = () => undefined;
    let woken: boolean;
    const onWake: Wake = () => {
      woken = true;
      wake();
    };
    const set = this.waiters.get(id) ?? new Set<Wake>();
    this.waiters.set(id, set);
    set.add(onWake);
    const deadline = performance.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    signal?.addEventListener('abort', onWake);
    try {
      for (;;) {
        woken = false;
        const view = await read();
        const remainingMs = deadline - performance.now();
        if (!view || isTerminal(view.status) || remainingMs <= 0 || this.closed || signal?.aborted) return view;
        if (!woken) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, remainingMs);
          });
          clearTimeout(timer);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onWake);
      set.delete(onWake);
      if (set.size === 0) this.waiters.delete(id);
    }
  }

  /** Releases every waiter with its job's current view; the shared listeners are removed. */
  close(): void {
    this.closed = true;
    this.events.off('completed', this.onFinished);
    this.events.off('failed', this.onFinished);
    this.events.off('removed', this.onFinished);
    for (const set of this.waiters.values()) for (const wake of set) wake();
  }
}
