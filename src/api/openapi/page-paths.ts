import type { Paths } from './openapi-document.js';

const text = (type: string) => ({ [type]: { schema: { type: 'string' } } });

/** What a browser loads: the web page at /, this document and its reference page. */
export function pagePaths(): Paths {
  return {
    '/': {
      get: {
        tags: ['operations'],
        summary: 'The web page: upload an image and watch it being classified',
        responses: {
          '200': { description: 'HTML, with a strict Content-Security-Policy.', content: text('text/html') },
        },
      },
    },
    '/app.js': {
      get: {
        tags: ['operations'],
        summary: "The web page's script",
        responses: { '200': { description: 'JavaScript.', content: text('text/javascript') } },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['operations'],
        summary: 'This document',
        responses: {
          '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/favicon.svg': {
      get: {
        tags: ['operations'],
        summary: "The pages' icon",
        responses: { '200': { description: 'SVG.', content: text('image/svg+xml') } },
      },
    },
    '/docs': {
      get: {
        tags: ['operations'],
        summary: 'This document as an API reference page (Redoc)',
        responses: {
          '200': {
            description: 'HTML that loads Redoc from this server and renders /openapi.json; nothing from elsewhere.',
            content: text('text/html'),
          },
        },
      },
    },
    '/docs/redoc.standalone.js': {
      get: {
        tags: ['operations'],
        summary: "Redoc's browser bundle, from its npm package",
        responses: { '200': { description: 'JavaScript.', content: text('text/javascript') } },
      },
    },
  };
}
