import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRouter } from '../../src/api/app.js';
import type { HttpMethod, OpenApiDocument } from '../../src/api/openapi.js';
import { connectApiDeps } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import * as fx from '../support/fixtures.js';
import { get, image, postImage, type Reply } from '../support/http.js';
import { ResponseValidator } from '../support/openapi-validator.js';
import { startService, type RunningService } from '../support/service.js';

const redisUrl = inject('redisUrl');
let service: RunningService;
let doc: OpenApiDocument;
let validator: ResponseValidator;

beforeAll(async () => {
  service = await startService(redisUrl);
  const res = await get<OpenApiDocument>(service.url, '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  validator = new ResponseValidator(doc);
});
afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

/** `:id` (router) → `{id}` (OpenAPI). */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('the published OpenAPI document', () => {
  it('is OpenAPI 3.1, and every schema in it compiles as JSON Schema 2020-12', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    for (const schema of Object.values(doc.components.schemas)) validator.compile(schema);
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item)) {
        for (const p of op.parameters ?? []) validator.compile(p.schema);
        for (const media of Object.values(op.requestBody?.content ?? {}))
          if (media.schema) validator.compile(media.schema);
        for (const r of Object.values(op.responses))
          for (const media of Object.values(r.content ?? {})) if (media.schema) validator.compile(media.schema);
      }
    }
    for (const hook of Object.values(doc.webhooks))
      for (const media of Object.values(hook.post.requestBody?.content ?? {}))
        if (media.schema) validator.compile(media.schema);
  });

  it('describes exactly the routes the router serves', async () => {
    // The real router, built from real dependencies: a route added without documentation fails here.
    const config = loadConfig({ REDIS_URL: redisUrl, QUEUE_NAME: `openapi-${randomUUID().slice(0, 8)}` });
    const connected = await connectApiDeps(config, createLogger('silent', 'test'));
    try {
      const routes = createRouter(connected.deps).stack.flatMap((layer) =>
        layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m.toLowerCase()} ${toOpenApiPath(String(layer.path))}`),
      );
      const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((m) => `${m} ${path}`),
      );
      expect(routes.length).toBeGreaterThanOrEqual(9);
      expect(new Set(routes)).toEqual(new Set(documented));
    } finally {
      await connected.close();
    }
  });

  it('is what /docs renders, with Redoc from this server (test/app/pages-in-browser.test.ts renders it in Chromium)', async () => {
    const page = await get<string>(service.url, '/docs');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<redoc spec-url="/openapi.json"');
    expect(page.body).toContain('<script src="/docs/redoc.standalone.js"></script>');
    expect(page.body).not.toMatch(/(src|href)="https?:/);
    const bundle = await fetch(`${service.url}/docs/redoc.standalone.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });
});

describe('real responses validate against the published document', () => {
  const conforms = (method: HttpMethod, path: string, res: Reply) =>
    expect(validator.problems(method, path, res), `${method} ${path} ${res.status}`).toEqual([]);

  it('jobs: submit, read, wait, long-poll timeout, Prefer: wait', async () => {
    const bytes = await image('orange.jpg');
    const submitted = await postImage(service.url, bytes, { query: '?topk=2' });
    expect(submitted.status).toBe(202);
    conforms('post', '/jobs', submitted);
    const early = await get(service.url, `/jobs/${submitted.body.id}/wait?timeout=0`);
    conforms('get', '/jobs/{id}/wait', early);
    const done = await get(service.url, `/jobs/${submitted.body.id}/wait?timeout=30`);
    expect(done.status).toBe(200);
    conforms('get', '/jobs/{id}/wait', done);
    conforms('get', '/jobs/{id}', await get(service.url, `/jobs/${submitted.body.id}`));
    const waited = await postImage(service.url, bytes, { headers: { Prefer: 'wait=30' } });
    expect(waited.status).toBe(200);
    conforms('post', '/jobs', waited);
  });

  it('batches: submit, progress, wait, results lines, errors', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await image('orange.jpg'))]), 'orange.jpg');
    form.append('image', new Blob([new Uint8Array(Buffer.from('text'))]), 'notes.txt');
    const res = await fetch(`${service.url}/batches?topk=2`, { method: 'POST', body: form });
    const submitted = {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as { id: string; links: { wait: string; results: string } },
    };
    expect(submitted.status).toBe(202);
    conforms('post', '/batches', submitted);
    conforms('get', '/batches/{id}', await get(service.url, `/batches/${submitted.body.id}`));
    const done = await get(service.url, `${submitted.body.links.wait}?timeout=30`);
    expect(done.status).toBe(200);
    conforms('get', '/batches/{id}/wait', done);
    const results = await fetch(`${service.url}${submitted.body.links.results}`);
    const lines = (await results.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    conforms('get', '/batches/{id}/results', {
      status: results.status,
      headers: results.headers,
      body: lines.join('\n'),
    });
    const entry = validator.compile(doc.components.schemas['BatchEntry']);
    for (const line of lines) expect(entry(JSON.parse(line)), line).toBe(true);
    conforms('get', '/batches/{id}', await get(service.url, `/batches/${randomUUID()}`));
    const empty = await fetch(`${service.url}/batches`, { method: 'POST', body: new FormData() });
    conforms('post', '/batches', { status: empty.status, headers: empty.headers, body: await empty.json() });
  });

  it('errors in our shape, and in the tutorial shape on /predict', async () => {
    const cases: [HttpMethod, string, Promise<Reply>, number][] = [
      ['post', '/jobs', postImage(service.url, undefined), 400],
      ['post', '/jobs', postImage(service.url, fx.bmp()), 415],
      ['post', '/jobs', postImage(service.url, await fx.truncatedJpeg()), 422],
      ['get', '/jobs/{id}', get(service.url, `/jobs/${randomUUID()}`), 404],
      ['get', '/jobs/{id}/wait', get(service.url, `/jobs/${randomUUID()}/wait?timeout=-1`), 400],
      ['post', '/predict', postImage(service.url, Buffer.from('hello'), { route: '/predict' }), 400],
    ];
    for (const [method, path, pending, status] of cases) {
      const res = await pending;
      expect(res.status, `${method} ${path}`).toBe(status);
      conforms(method, path, res);
    }
  });

  it('the tutorial endpoint, health, readiness, metrics and the documents themselves', async () => {
    conforms('post', '/predict', await postImage(service.url, await image('coffee.png'), { route: '/predict' }));
    conforms('get', '/healthz', await get(service.url, '/healthz'));
    conforms('get', '/readyz', await get(service.url, '/readyz'));
    conforms('get', '/metrics', await get(service.url, '/metrics'));
    conforms('get', '/openapi.json', await get(service.url, '/openapi.json'));
    conforms('get', '/docs', await get(service.url, '/docs'));
  });

  it('the validator is not a rubber stamp: altered bodies and undocumented answers fail', async () => {
    const job = await get(service.url, `/jobs/${randomUUID()}`);
    const real = await postImage(service.url, await image('coffee.png'));
    expect(validator.problems('post', '/jobs', { ...real, body: { ...real.body, status: 'done' } })).not.toEqual([]);
    expect(validator.problems('post', '/jobs', { ...real, body: { ...real.body, surprise: 1 } })).not.toEqual([]);
    expect(
      validator.problems('get', '/jobs/{id}', { ...job, body: { error: { code: 'no_such_code', message: 'x' } } }),
    ).not.toEqual([]);
    expect(validator.problems('get', '/healthz', { ...job, status: 418 })).not.toEqual([]);
    expect(validator.problems('get', '/nowhere', job)).not.toEqual([]);
  });
});
