import type { Context } from 'koa';

/**
 * `http(s)://host[:port]` as the client reached this API (honouring TRUST_PROXY, as Koa's protocol
 * and host do): the SDK needs absolute URLs (`urls.get`, a page's `next`) and follows them as given.
 */
export const publicOrigin = (ctx: Context): string => `${ctx.protocol}://${ctx.host}`;
