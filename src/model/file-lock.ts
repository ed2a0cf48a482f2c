import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import os from 'node:os';

export interface FileLockOptions {
  /** A lock not refreshed for this long is taken to belong to a process that died, ms (default 30000). */
  staleMs?: number;
  /** How often a waiting process looks again, ms (default 500). */
  pollMs?: number;
  /** Called once if the lock is held by someone else, before waiting. */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
}

export interface FileLock {
  release(): Promise<void>;
}

const owner = () => `${os.hostname()} pid ${process.pid}\n`;

/** True when the lock names a process on this host that no longer exists (it crashed or was killed). */
async function holderIsGone(lockFile: string): Promise<boolean> {
  const match = /^(.*) pid (\d+)$/.exec((await readFile(lockFile, 'utf8').catch(() => '')).trim());
  if (!match || match[1] !== os.hostname()) return false;
  try {
    process.kill(Number(match[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * An exclusive lock between processes (also on other machines sharing the directory): the lock
 * is a file created with O_EXCL, refreshed while held so that waiters can tell a live holder
 * from one that died (and then take the lock over): at once when the holder was a process on
 * this host that is gone, else after `staleMs` without a refresh. Node has no flock, hence this.
 */
export async function acquireFileLock(lockFile: string, options: FileLockOptions = {}): Promise<FileLock> {
  const staleMs = options.staleMs ?? 30_000;
  const pollMs = options.pollMs ?? 500;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(owner());
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await stat(lockFile).catch(() => undefined);
    if (held && (Date.now() - held.mtimeMs > staleMs || (await holderIsGone(lockFile)))) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (!told) {
      told = true;
      options.onWait?.(lockFile);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(lockFile, now, now).catch(() => undefined);
  }, staleMs / 3);
  heartbeat.unref();
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        clearInterval(heartbeat);
        await rm(lockFile, { force: true });
      })()),
  };
}
