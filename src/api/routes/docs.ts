import type Router from '@koa/router';
import { renderDocsPage } from '../docs-page.js';
import type { ApiState } from '../api-state.js';
import { buildOpenApiDocument } from '../openapi.js';

/** GET /openapi.json and GET /docs. The document is static, so both are built once. */
export function docsRoutes(router: Router<ApiState>): void {
  const document = buildOpenApiDocument();
  const page = renderDocsPage(document);
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'html';
    // The page has no script and loads nothing; say so, so a browser refuses anything injected.
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    ctx.body = page;
  });
}
