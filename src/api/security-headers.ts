import helmet from 'koa-helmet';
import type { Middleware } from 'koa';

/** Content-Security-Policy directives, helmet's shape: directive name → sources. */
export type CspDirectives = Record<string, string[]>;

/**
 * What every policy here says, whatever the page: nothing may frame it (clickjacking), no
 * `<base>` may re-root its relative URLs, no plugin runs.
 */
const always: CspDirectives = {
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
};

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
    contentSecurityPolicy: { useDefaults: false, directives: { ...nothing, ...always } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/**
 * The CSP of one HTML page: what it needs, plus the framing, `<base>` and plugin bans every page
 * keeps. It replaces the API's policy set by `securityHeaders`, so it runs after it.
 */
export function pagePolicy(directives: CspDirectives): Middleware {
  return helmet.contentSecurityPolicy({ useDefaults: false, directives: { ...directives, ...always } });
}
