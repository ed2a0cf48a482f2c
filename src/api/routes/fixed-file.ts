import type { Middleware } from 'koa';

/**
 * Answers with bytes read once at start-up (a page, its script, its icon) as `type`, kept by
 * browsers as `cacheControl` says.
 */
export function fixedFile(body: string | Buffer, type: string, cacheControl: string): Middleware {
  return (ctx) => {
    ctx.set('Cache-Control', cacheControl);
    ctx.type = type;
    ctx.body = body;
  };
}
