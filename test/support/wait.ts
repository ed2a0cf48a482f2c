import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it holds; fails naming `what` after `timeoutMs`. The deadline only bounds a
 * wait that should end on its own, so a hang fails with a message instead of the test's timeout.
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Resolves with the child's exit code, or rejects if it has not exited within `timeoutMs`. */
export async function exitWithin(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
    throw new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`, { cause: err });
  })) as [number | null];
  return code;
}
