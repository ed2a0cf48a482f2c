import type { Context } from 'koa';

/**
 * Aborts when the client's connection closes: long-polls and event streams stop waiting for a
 * client that will never read the answer (and release their wake-ups in the shared waiter).
 */
export function clientGoneSignal(ctx: Context): AbortSignal {
  const gone = new AbortController();
  ctx.res.once('close', () => gone.abort());
  return gone.signal;
}
