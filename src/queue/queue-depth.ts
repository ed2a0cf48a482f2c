/**
 * "Queue depth", defined once: the jobs of a model's queue that are not finished. That is every job
 * a worker still has to run or is running:
 * - `waiting`: interactive jobs (priority 0) in BullMQ's wait list;
 * - `prioritized`: bulk jobs (any priority > 0) wait in BullMQ's prioritized set, not in the wait list;
 * - `delayed`: waiting out a retry backoff;
 * - `active`: held by a worker.
 * Failed and completed jobs are kept for a while but are not depth. A paused queue keeps its jobs in
 * the wait list (BullMQ 5+), so they stay counted. MAX_QUEUE_DEPTH's admission (queue-admission.ts),
 * the backpressure choice between models and the `resnet_queue_jobs` metric all read this list.
 */
export const queueDepthStates = ['waiting', 'prioritized', 'delayed', 'active'] as const;

export type QueueDepthState = (typeof queueDepthStates)[number];

/** Where BullMQ keeps each depth state: its key name under the queue (`Queue.keys`) and the Redis type. */
export const queueDepthKeys: Record<
  QueueDepthState,
  { key: 'wait' | 'prioritized' | 'delayed' | 'active'; type: 'list' | 'zset' }
> = {
  waiting: { key: 'wait', type: 'list' },
  prioritized: { key: 'prioritized', type: 'zset' },
  delayed: { key: 'delayed', type: 'zset' },
  active: { key: 'active', type: 'list' },
};

/** What `resnet_queue_jobs` reports: the depth states, and failed jobs kept FAILED_TTL_SECONDS for a retry. */
export const reportedJobStates = [...queueDepthStates, 'failed'] as const;

/** The sum of the depth states in `counts` (BullMQ's getJobCounts answer). */
export function queueDepth(counts: Readonly<Partial<Record<string, number>>>): number {
  return queueDepthStates.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}
