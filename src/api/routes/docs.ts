import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Router from '@koa/router';
import type { ApiState } from '../api-state.js';
import { buildOpenApiDocument } from '../openapi/build-openapi-document.js';
import { pagePolicy } from '../guards/security-headers.js';
import { fixedFile } from './fixed-file.js';

/** Redoc's self-contained browser bundle, served from its npm package: the page loads nothing from elsewhere. */
const redocBundlePath = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');

/**
 * The reference page: Redoc reads /openapi.json and renders the operations, their parameters,
 * request and response samples and the error table. Options are attributes of `<redoc>` (the
 * bundle finds the element itself), so the page has no inline script. The generated JSON payload
 * sample goes after the curated examples (`payload-sample-idx`), so curl is what a reader sees first.
 * The one inline stylesheet fixes Redoc's tables on phones (the CSP allows inline styles here anyway).
 */
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>resnet-queue API reference</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>
/* Error codes stay whole (Redoc breaks words anywhere in narrow cells), and a wide table scrolls within itself
   on a phone instead of being cut off. */
.redoc-markdown table { display: block; max-width: 100%; overflow-x: auto; }
.redoc-markdown td code {
  white-space: nowrap !important; word-break: normal !important; overflow-wrap: normal !important;
}
</style></head>
<body>
<noscript>The reference needs JavaScript; the document itself is <a href="/openapi.json">/openapi.json</a>.</noscript>
<redoc spec-url="/openapi.json" expand-responses="200,202" required-props-first="true" hide-hostname="true"
  payload-sample-idx="99"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body></html>
`;

/**
 * Redoc's needs: its script from here, the document from here, styles injected at run time
 * (styled-components, hence 'unsafe-inline' for styles only), its search index in a worker it
 * starts from a blob, and inline SVG icons.
 */
const docsPolicy = pagePolicy({
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'worker-src': ['blob:'],
  'connect-src': ["'self'"],
  'form-action': ["'none'"],
});

/** GET /openapi.json, GET /docs and Redoc's bundle. The document is static, so it is built once. */
export function docsRoutes(router: Router<ApiState>): void {
  const document = buildOpenApiDocument();
  const bundle = readFileSync(redocBundlePath);
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  router.get('/docs', docsPolicy, fixedFile(page, 'text/html; charset=utf-8', 'no-cache'));
  // The bundle changes only with the package version, i.e. with a new deployment.
  router.get('/docs/redoc.standalone.js', fixedFile(bundle, 'text/javascript; charset=utf-8', 'public, max-age=3600'));
}
