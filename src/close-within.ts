/** How long one client (a BullMQ queue, worker or Redis connection) may take to close before it is dropped, ms. */
export const closeStepMs = 1500;

/**
 * Waits for `closing` at most `ms`, then runs `drop` (cutting its connection) unless it closed:
 * with Redis down, BullMQ's and ioredis' close would wait forever. Never rejects, so one part that
 * fails to close does not stop the rest of a shutdown.
 */
export async function closeWithin(closing: Promise<unknown>, ms: number, drop: () => void = () => {}): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([
    closing.then(
      () => 'closed',
      () => 'failed',
    ),
    late,
  ]);
  clearTimeout(timer);
  if (outcome !== 'closed') drop();
}
