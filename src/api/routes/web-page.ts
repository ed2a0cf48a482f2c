import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import { projectRoot } from '../../config.js';
import { pagePolicy } from '../guards/security-headers.js';
import { fixedFile } from './fixed-file.js';

/** The page for people: one HTML file, one script and the icon, served as they are. */
export const publicDir = path.join(projectRoot, 'public');

/** CSP sources for the page's inline <style> blocks, by hash, so no 'unsafe-inline' is needed. */
function inlineStyleHashes(html: string): string[] {
  return [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
  );
}

/**
 * GET /, GET /app.js and GET /favicon.svg. The page may load and talk to nothing but this origin
 * (its CSP replaces the API's load-nothing policy); framing, sniffing and the Referer are off for
 * every response (security-headers.ts). Files are read once, at start-up, so a missing one stops
 * the API instead of failing requests.
 */
export function webPageRoutes(router: Router, maxUploadBytes: number): void {
  // The page checks a file's size before showing it, against the service's own limit.
  const html = readFileSync(path.join(publicDir, 'index.html'), 'utf8').replace(
    'data-max-upload-bytes="0"',
    `data-max-upload-bytes="${maxUploadBytes}"`,
  );
  const script = readFileSync(path.join(publicDir, 'app.js'));
  const icon = readFileSync(path.join(publicDir, 'favicon.svg'));
  const policy = pagePolicy({
    'default-src': ["'self'"],
    'style-src': ["'self'", ...inlineStyleHashes(html)],
    'form-action': ["'self'"],
  });

  router.get('/', policy, fixedFile(html, 'text/html; charset=utf-8', 'no-cache'));
  router.get('/app.js', fixedFile(script, 'text/javascript; charset=utf-8', 'no-cache'));
  router.get('/favicon.svg', fixedFile(icon, 'image/svg+xml', 'public, max-age=86400'));
}
