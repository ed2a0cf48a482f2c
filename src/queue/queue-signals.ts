import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { queueDepth, queueDepthKeys, reportedJobStates } from './queue-depth.js';
import type { WorkerPresence } from './worker-presence.js';

/** One model queue's state as an operator or an autoscaler reads it (see QueueSignals.read). */
export interface QueueSnapshot {
  /** Jobs in each reported state (queue-depth.ts), 0 when none. */
  counts: Record<(typeof reportedJobStates)[number], number>;
  /** The queue depth: the sum of the depth states. */
  depth: number;
  /** Age of the oldest job waiting for a worker (waiting or prioritized), seconds; 0 when none waits. */
  oldestWaitingSeconds: number;
  /** Paused (from Bull Board): jobs are kept and accepted, but no worker takes any. */
  paused: boolean;
  /** Live workers with the model loaded. */
  workers: number;
}

/**
 * The read-only signals of one model's queue: depth by state, the age of the oldest waiting job,
 * whether it is paused, and its live workers. Read at scrape or probe time from BullMQ's own keys,
 * so every API replica reports the same numbers without keeping state.
 */
export class QueueSignals {
  constructor(
    private readonly queue: Queue,
    private readonly redis: Redis | Cluster,
    private readonly presence: WorkerPresence,
  ) {}

  /** Whether the queue is paused; its workers take no job until it is resumed. */
  paused(): Promise<boolean> {
    return this.queue.isPaused();
  }

  /** Live workers with the model loaded. */
  workers(): Promise<number> {
    return this.presence.count();
  }

  async read(now = Date.now()): Promise<QueueSnapshot> {
    const [raw, oldestWaitingSeconds, paused, workers] = await Promise.all([
      this.queue.getJobCounts(...reportedJobStates),
      this.oldestWaitingSeconds(now),
      this.paused(),
      this.workers(),
    ]);
    const counts = Object.fromEntries(reportedJobStates.map((s) => [s, raw[s] ?? 0])) as QueueSnapshot['counts'];
    return { counts, depth: queueDepth(counts), oldestWaitingSeconds, paused, workers };
  }

  /**
   * The oldest waiting job is at the tail of the wait list (BullMQ pushes new jobs at the head and
   * workers take from the tail) or at the head of the prioritized set (bulk jobs all share one
   * priority, and BullMQ orders equal priorities by arrival). Its age counts from submission, so a
   * job back from a retry is as old as its client's wait.
   */
  private async oldestWaitingSeconds(now: number): Promise<number> {
    const keys = this.queue.keys;
    const [tail, head] = await Promise.all([
      this.redis.lindex(keys[queueDepthKeys.waiting.key]!, '-1'),
      this.redis.zrange(keys[queueDepthKeys.prioritized.key]!, '0', '0'),
    ]);
    const ids = [tail, head[0]].filter((id): id is string => typeof id === 'string');
    const stamps = await Promise.all(ids.map((id) => this.redis.hget(this.queue.toKey(id), 'timestamp')));
    const oldest = Math.min(...stamps.map(Number).filter((t) => Number.isFinite(t) && t > 0));
    return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
  }
}
