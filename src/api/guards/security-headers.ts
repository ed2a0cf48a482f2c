import helmet from 'koa-helmet';
import type { Middleware } from 'koa';

/** Content-Security-Policy directives, helmet's shape: directive name → sources. */
export type CspDirectives = Record<string, string[]>;

/** What every policy here says, whatever the page: nothing may frame it (clickjacking), no plugin runs. */
const always: CspDirectives = {
  'frame-ancestors': ["'none'"],
  'object-src': ["'none'"],
};

/** No `<base>` may re-root a page's relative URLs, unless the page declares its own (Bull Board does). */
const noBase: CspDirectives = { 'base-uri': ["'none'"] };

/** JSON, text and scripts render nothing, so a response opened as a document may load nothing. */
const nothing: CspDirectives = { 'default-src': ["'none'"], 'form-action': ["'none'"] };

/**
 * helmet on every response (the API's JSON, the pages, the dashboard, errors): a CSP that allows
 * nothing, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, nosniff, HSTS (honoured only
 * over HTTPS, i.e. behind the TLS proxy SECURITY.md asks for) and helmet's other defaults.
 * The few HTML pages replace the CSP with their own through `pagePolicy`.
 */
export function securityHeaders(): Middleware {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { ...nothing, ...noBase, ...always } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/**
 * The CSP of one HTML page: what it needs, plus the framing and plugin bans every page keeps (and
 * `base-uri 'none'` unless it says otherwise). It replaces the API's policy set by
 * `securityHeaders`, so it runs after it.
 */
export function pagePolicy(directives: CspDirectives): Middleware {
  return helmet.contentSecurityPolicy({ useDefaults: false, directives: { ...noBase, ...directives, ...always } });
}
