import type { Context } from 'koa';
import { AppError } from '../../errors.js';

/** Methods that only read: a cross-site GET (a link, an image) must still work and changes nothing. */
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for endpoints a browser authenticates on its own (HTTP Basic): a state-changing
 * request is refused with 403 when the browser says it comes from another site. Browsers send
 * `Sec-Fetch-Site` (Fetch Metadata) and, on every non-GET fetch or form post, `Origin`; either
 * one naming another site is enough. Scripts and curl send neither and are not affected, which is
 * safe: they carry credentials explicitly, and a page elsewhere cannot make a browser omit both.
 */
export function rejectCrossSite(ctx: Context): void {
  if (safeMethods.has(ctx.method)) return;
  const site = ctx.get('sec-fetch-site');
  if (site !== '' && site !== 'same-origin' && site !== 'none') {
    throw new AppError('forbidden', `cross-site ${ctx.method} refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = ctx.get('origin');
  if (origin !== '' && hostOf(origin) !== ctx.host) {
    throw new AppError('forbidden', `cross-site ${ctx.method} refused (Origin: ${origin})`);
  }
}

/** The host[:port] of an Origin header; `null` (sandboxed or privacy-sensitive contexts) matches nothing. */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
