import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRouter } from '../../src/api/app.js';
import { buildOpenApiDocument } from '../../src/api/openapi/build-openapi-document.js';
import { projectRoot } from '../../src/config.js';
import type { HttpMethod, OpenApiDocument } from '../../src/api/openapi/openapi-document.js';
import * as fx from '../support/fixtures.js';
import { get, image, postImage, type Reply } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { ResponseValidator } from '../support/openapi-validator.js';
import { defaultModelName } from '../support/paths.js';

/** The document the app publishes, and real answers of the app (with a worker) checked against it. */
let api: InProcessApi;
let url: string;
let doc: OpenApiDocument;
let validator: ResponseValidator;

beforeAll(async () => {
  api = await startInProcessApi(testConfig(inject('redisUrl')));
  await api.startWorker();
  url = api.url;
  const res = await get<OpenApiDocument>(url, '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  validator = new ResponseValidator(doc);
});
afterAll(async () => {
  await api?.close();
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

  it("carries package.json's version", async () => {
    const pkg = JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    expect(buildOpenApiDocument().info.version).toBe(pkg.version);
  });

  it('describes exactly the routes the router serves', () => {
    // The real router, built from the served app's dependencies: a route added without
    // documentation fails here.
    const routes = createRouter(api.deps).stack.flatMap((layer) =>
      layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m.toLowerCase()} ${toOpenApiPath(String(layer.path))}`),
    );
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m} ${path}`),
    );
    expect(routes.length).toBeGreaterThanOrEqual(9);
    expect(new Set(routes)).toEqual(new Set(documented));
  });

  it('is what /docs renders, with Redoc from this server (pages-in-browser.test.ts renders it)', async () => {
    const page = await get<string>(url, '/docs');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<redoc spec-url="/openapi.json"');
    expect(page.body).toContain('<script src="/docs/redoc.standalone.js"></script>');
    expect(page.body).not.toMatch(/(src|href)="https?:/);
    const bundle = await fetch(`${url}/docs/redoc.standalone.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });
});

describe('real responses validate against the published document', () => {
  const conforms = (method: HttpMethod, path: string, res: Reply) =>
    expect(validator.problems(method, path, res), `${method} ${path} ${res.status}`).toEqual([]);

  it('jobs: submit, read, wait, long-poll timeout, Prefer: wait', async () => {
    const bytes = await image('orange.jpg');
    const submitted = await postImage(url, bytes, { query: '?topk=2' });
    expect(submitted.status).toBe(202);
    conforms('post', '/jobs', submitted);
    const early = await get(url, `/jobs/${submitted.body.id}/wait?timeout=0`);
    conforms('get', '/jobs/{id}/wait', early);
    const done = await get(url, `/jobs/${submitted.body.id}/wait?timeout=30`);
    expect(done.status).toBe(200);
    conforms('get', '/jobs/{id}/wait', done);
    conforms('get', '/jobs/{id}', await get(url, `/jobs/${submitted.body.id}`));
    const waited = await postImage(url, bytes, { headers: { Prefer: 'wait=30' } });
    expect(waited.status).toBe(200);
    conforms('post', '/jobs', waited);
  });

  it('batches: submit, progress, wait, results lines, errors', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await image('orange.jpg'))]), 'orange.jpg');
    form.append('image', new Blob([new Uint8Array(Buffer.from('text'))]), 'notes.txt');
    const res = await fetch(`${url}/batches?topk=2`, { method: 'POST', body: form });
    const submitted = {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as { id: string; links: { wait: string; results: string } },
    };
    expect(submitted.status).toBe(202);
    conforms('post', '/batches', submitted);
    conforms('get', '/batches/{id}', await get(url, `/batches/${submitted.body.id}`));
    const done = await get(url, `${submitted.body.links.wait}?timeout=30`);
    expect(done.status).toBe(200);
    conforms('get', '/batches/{id}/wait', done);
    const results = await fetch(`${url}${submitted.body.links.results}`);
    const lines = (await results.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    conforms('get', '/batches/{id}/results', {
      status: results.status,
      headers: results.headers,
      body: lines.join('\n'),
    });
    const entry = validator.compile(doc.components.schemas['BatchEntry']);
    for (const line of lines) expect(entry(JSON.parse(line)), line).toBe(true);
    conforms('get', '/batches/{id}', await get(url, `/batches/${randomUUID()}`));
    const empty = await fetch(`${url}/batches`, { method: 'POST', body: new FormData() });
    conforms('post', '/batches', { status: empty.status, headers: empty.headers, body: await empty.json() });
  });

  it('errors in our shape, and in the tutorial shape on /predict', async () => {
    const cases: [HttpMethod, string, Promise<Reply>, number][] = [
      ['post', '/jobs', postImage(url, undefined), 400],
      ['post', '/jobs', postImage(url, fx.bmp()), 415],
      ['post', '/jobs', postImage(url, await fx.truncatedJpeg()), 422],
      ['get', '/jobs/{id}', get(url, `/jobs/${randomUUID()}`), 404],
      ['get', '/jobs/{id}/wait', get(url, `/jobs/${randomUUID()}/wait?timeout=-1`), 400],
      ['post', '/predict', postImage(url, Buffer.from('hello'), { route: '/predict' }), 400],
    ];
    for (const [method, path, pending, status] of cases) {
      const res = await pending;
      expect(res.status, `${method} ${path}`).toBe(status);
      conforms(method, path, res);
    }
  });

  it('the tutorial endpoint, health, readiness, metrics and the documents themselves', async () => {
    conforms('post', '/predict', await postImage(url, await image('coffee.png'), { route: '/predict' }));
    conforms('get', '/healthz', await get(url, '/healthz'));
    conforms('get', '/readyz', await get(url, '/readyz'));
    conforms('get', '/metrics', await get(url, '/metrics'));
    conforms('get', '/openapi.json', await get(url, '/openapi.json'));
    conforms('get', '/docs', await get(url, '/docs'));
  });

  it('the drop-in front doors: Replicate /v1 and the Open Inference Protocol /v2', async () => {
    const model = defaultModelName;
    const uri = `data:image/jpeg;base64,${(await image('orange.jpg')).toString('base64')}`;
    const send = async (route: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
      const res = await fetch(`${url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, body: await res.json() };
    };
    const created = await send(`/v1/models/local/${model}/predictions`, { input: { image: uri } }, { prefer: 'wait' });
    expect(created.status).toBe(201);
    conforms('post', '/v1/models/{owner}/{name}/predictions', created);
    const id = (created.body as { id: string }).id;
    conforms('get', '/v1/predictions/{id}', await get(url, `/v1/predictions/${id}`));
    conforms('post', '/v1/predictions/{id}/cancel', await send(`/v1/predictions/${id}/cancel`, {}));
    conforms('get', '/v1/predictions', await get(url, '/v1/predictions'));
    conforms('get', '/v1/models/{owner}/{name}', await get(url, `/v1/models/local/${model}`));
    conforms('get', '/v1/predictions/{id}', await get(url, `/v1/predictions/${randomUUID()}`));
    conforms('post', '/v1/predictions', await send('/v1/predictions', { version: 'nope', input: { image: uri } }));
    conforms('get', '/v1/webhooks/default/secret', await get(url, '/v1/webhooks/default/secret'));
    const form = new FormData();
    form.append('content', new Blob([new Uint8Array(await image('orange.jpg'))]), 'orange.jpg');
    const res = await fetch(`${url}/v1/files`, { method: 'POST', body: form });
    const file: Reply = { status: res.status, headers: res.headers, body: await res.json() };
    expect(file.status).toBe(201);
    conforms('post', '/v1/files', file);
    conforms('get', '/v1/files/{id}', await get(url, `/v1/files/${(file.body as { id: string }).id}`));

    conforms('get', '/v2/health/live', await get(url, '/v2/health/live'));
    conforms('get', '/v2/health/ready', await get(url, '/v2/health/ready'));
    conforms('get', '/v2', await get(url, '/v2'));
    conforms('get', '/v2/models/{model}', await get(url, `/v2/models/${model}`));
    conforms(
      'get',
      '/v2/models/{model}/versions/{version}/ready',
      await get(url, `/v2/models/${model}/versions/1/ready`),
    );
    conforms('get', '/v2/models/{model}', await get(url, '/v2/models/nope'));
    const tensor = {
      name: 'input',
      shape: [1, 3, 224, 224],
      datatype: 'FP32',
      data: new Array<number>(150_528).fill(0),
    };
    const inferred = await send(`/v2/models/${model}/infer`, {
      inputs: [tensor],
      outputs: [{ name: 'output', parameters: { classification: 2 } }],
    });
    expect(inferred.status).toBe(200);
    conforms('post', '/v2/models/{model}/infer', inferred);
    conforms('post', '/v2/models/{model}/infer', await send(`/v2/models/${model}/infer`, { inputs: [] }));
  });

  it('the validator is not a rubber stamp: altered bodies and undocumented answers fail', async () => {
    const job = await get(url, `/jobs/${randomUUID()}`);
    const real = await postImage(url, await image('coffee.png'));
    expect(validator.problems('post', '/jobs', { ...real, body: { ...real.body, status: 'done' } })).not.toEqual([]);
    expect(validator.problems('post', '/jobs', { ...real, body: { ...real.body, surprise: 1 } })).not.toEqual([]);
    expect(
      validator.problems('get', '/jobs/{id}', { ...job, body: { error: { code: 'no_such_code', message: 'x' } } }),
    ).not.toEqual([]);
    expect(validator.problems('get', '/healthz', { ...job, status: 418 })).not.toEqual([]);
    expect(validator.problems('get', '/nowhere', job)).not.toEqual([]);
  });
});
