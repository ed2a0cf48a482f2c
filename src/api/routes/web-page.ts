import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import { projectRoot } from '../../config.js';

/** The page for people: one HTML file and one script, served as they are. */
export const publicDir = path.join(projectRoot, 'public');

/** CSP sources for the page's inline <style> blocks, by hash, so no 'unsafe-inline' is needed. */
function inlineStyleHashes(html: string): string[] {
  return [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
}

/**
 * GET / and GET /app.js. The page may load and talk to nothing but this origin (CSP), may not be
 * framed (clickjacking), sends no Referer, and no response is MIME-sniffed. Files are read once,
 * at start-up, so a missing one stops the API instead of failing requests.
 */
export function webPageRoutes(router: Router): void {
  const html = readFileSync(path.join(publicDir, 'index.html'), 'utf8');
  const script = readFileSync(path.join(publicDir, 'app.js'));
  const csp = [
    "default-src 'self'",
    `style-src 'self' ${inlineStyleHashes(html).join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  const common = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };

  router.get('/', (ctx) => {
    ctx.set({ ...common, 'Content-Security-Policy': csp, 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = html;
  });
  router.get('/app.js', (ctx) => {
    ctx.set(common);
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.body = script;
  });
}
