import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import Replicate, { validateWebhook, type ApiError, type Prediction } from 'replicate';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyPrefix } from '../../src/queue/keys.js';
import { webhookQueueName } from '../../src/webhook/webhook-queue.js';
import { image } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { defaultModelName, expectedTop1 } from '../support/paths.js';
import { until } from '../support/wait.js';

/**
 * The official `replicate` npm client (1.x), unchanged, against an in-process service with a real
 * worker: `baseUrl` is the service's /v1 and `local/<model>` its model.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const apiKey = 'replicate-test-key';
const model = `local/${defaultModelName}`;

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A loopback server that records webhook deliveries (allowed by WEBHOOK_ALLOW_HOSTS=127.0.0.1) and serves images. */
async function startLoopback() {
  const deliveries: Received[] = [];
  const photos = new Map<string, Buffer>();
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      const bytes = photos.get(req.url ?? '');
      if (req.url === '/moved') res.writeHead(302, { Location: '/eagle.jpg' }).end();
      else if (bytes) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(bytes);
      else res.writeHead(404).end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      deliveries.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, deliveries, photos, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let api: InProcessApi;
let loopback: Awaited<ReturnType<typeof startLoopback>>;
let replicate: Replicate;

beforeAll(async () => {
  loopback = await startLoopback();
  api = await startInProcessApi(
    testConfig(inject('redisUrl'), {
      API_KEYS: `${apiKey},another-key`,
      WEBHOOK_SECRET: secret,
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_BACKOFF_MS: '50',
    }),
  );
  await api.startWorker();
  replicate = new Replicate({ auth: apiKey, baseUrl: `${api.url}/v1` });
});
afterAll(async () => {
  await api?.close();
  await loopback?.close();
});

/** replicate 1.x exports ApiError as a type only: what it throws is recognised by its name. */
function apiError(thrown: unknown): ApiError {
  expect((thrown as Error).name).toBe('ApiError');
  return thrown as ApiError;
}

type Classes = { label: string; probability: number }[];
const top1 = (output: unknown) => (output as Classes)[0]!.label;

describe('replicate.run', () => {
  it('classifies every shared photo given as a Buffer (the default settings upload it to /v1/files)', async () => {
    for (const [name, labels] of Object.entries(expectedTop1)) {
      const output = await replicate.run(model, { input: { image: await image(name) } });
      expect(labels, name).toContain(top1(output));
    }
  });

  it('classifies a data URI, what fileEncodingStrategy "data-uri" is meant to send', async () => {
    // Sent as a string: replicate 1.x's own data-URI encoding is broken (next test).
    const bytes = await image('eagle.jpg');
    const output = await replicate.run(model, {
      input: { image: `data:image/jpeg;base64,${bytes.toString('base64')}` },
    });
    expect(top1(output)).toBe('bald_eagle');
  });

  it('refuses what replicate 1.x sends for a Buffer under "data-uri" (its client): keys named, no values', async () => {
    // replicate@1.x passes its client as the input to its data-URI encoder (lib/util.js), so the
    // body's `input` is the client itself, auth token included: it must not be echoed back.
    const client = new Replicate({ auth: apiKey, baseUrl: `${api.url}/v1`, fileEncodingStrategy: 'data-uri' });
    const err = await client.run(model, { input: { image: await image('eagle.jpg') } }).catch((e: unknown) => e);
    expect(apiError(err).response.status).toBe(400);
    expect((err as ApiError).message).toMatch(/input/);
    expect((err as ApiError).message).not.toContain(apiKey);
  });

  it('classifies an http URL on a WEBHOOK_ALLOW_HOSTS host; refuses a redirect and a private host', async () => {
    loopback.photos.set('/eagle.jpg', await image('eagle.jpg'));
    const output = await replicate.run(model, { input: { image: `${loopback.base}/eagle.jpg` } });
    expect(top1(output)).toBe('bald_eagle');
    const moved = await replicate.run(model, { input: { image: `${loopback.base}/moved` } }).catch((e: unknown) => e);
    expect(apiError(moved).response.status).toBe(400);
    expect((moved as ApiError).message).toContain('redirects are not followed');
    const guarded = await replicate
      .run(model, { input: { image: 'http://10.0.0.1/eagle.jpg' } })
      .catch((e: unknown) => e);
    expect(apiError(guarded).response.status).toBe(400);
    expect((guarded as ApiError).message).toContain('must use https');
    const metadata = await replicate
      .run(model, { input: { image: 'https://169.254.169.254/latest/meta-data' } })
      .catch((e: unknown) => e);
    expect(apiError(metadata).response.status).toBe(400);
    expect(apiError(metadata).message).toContain('resolves to a non-public address (169.254.169.254)');
  });
});

describe('predictions', () => {
  it('predictions.create then replicate.wait', async () => {
    const created = await replicate.predictions.create({
      model,
      input: { image: `data:image/png;base64,${(await image('coffee.png')).toString('base64')}`, topk: 3 },
    });
    expect(created.status).toBe('starting');
    expect(created.urls.get).toBe(`${api.url}/v1/predictions/${created.id}`);
    const done = await replicate.wait(created, { interval: 50 });
    expect(done.status).toBe('succeeded');
    expect(done.output).toHaveLength(3);
    expect(top1(done.output)).toBe('espresso');
    expect((done.input as { topk: number }).topk).toBe(3);
    expect((done.input as { image: string }).image).toMatch(/^png \d+x\d+, \d+ bytes, from a data URI$/);
    expect(done.metrics?.predict_time).toBeGreaterThan(0);
    expect((await replicate.predictions.get(created.id)).status).toBe('succeeded');
  });

  it('urls.stream sends the output, then done, and ends; an unknown prediction has no stream (404)', async () => {
    const created = await replicate.predictions.create({
      model,
      input: { image: `data:image/png;base64,${(await image('coffee.png')).toString('base64')}` },
    });
    const headers = { authorization: `Bearer ${apiKey}` };
    const stream = await fetch(created.urls.stream!, { headers });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = [...(await stream.text()).matchAll(/^event: (.+)\ndata: (.+)$/gm)].map(([, event, data]) => ({
      event,
      data: data!,
    }));
    expect(events.map((e) => e.event)).toEqual(['output', 'done']);
    expect(top1(JSON.parse(events[0]!.data))).toBe('espresso');
    const unknown = await fetch(`${api.url}/v1/predictions/${crypto.randomUUID()}/stream`, { headers });
    expect(unknown.status).toBe(404);
  });

  it('cancels a queued prediction; an open API lists it to its own address only', async () => {
    // No worker on this service's queue: the prediction stays queued until it is cancelled.
    const idle = await startInProcessApi(
      testConfig(inject('redisUrl'), { WORKER_GRACE_SECONDS: '600', TRUST_PROXY: '1' }),
    );
    try {
      const client = new Replicate({ baseUrl: `${idle.url}/v1` });
      const bytes = await image('orange.jpg');
      const created = await client.predictions.create({
        version: defaultModelName,
        input: { image: `data:image/jpeg;base64,${bytes.toString('base64')}` },
      });
      const cancelled = await client.predictions.cancel(created.id);
      expect(cancelled.status).toBe('canceled');
      expect((await client.predictions.get(created.id)).status).toBe('canceled');
      // On an open API a list is the caller's address's: another address does not see the ID.
      expect((await client.predictions.list()).results.map((p) => p.id)).toEqual([created.id]);
      const elsewhere = new Replicate({
        baseUrl: `${idle.url}/v1`,
        fetch: (url, init) =>
          fetch(url, {
            ...init,
            headers: { ...(init?.headers as Record<string, string>), 'x-forwarded-for': '203.0.113.9' },
          }),
      });
      expect((await elsewhere.predictions.list()).results).toEqual([]);
    } finally {
      await idle.close();
    }
  });

  it('paginate(predictions.list) walks every page of this key only, newest first', async () => {
    const other = new Replicate({ auth: 'another-key', baseUrl: `${api.url}/v1` });
    const uri = `data:image/jpeg;base64,${(await image('orange.jpg')).toString('base64')}`;
    const mine: string[] = [];
    for (let i = 0; i < 3; i++) mine.push((await other.predictions.create({ model, input: { image: uri } })).id);
    api.deps.replicate.predictions.pageSize = 2;
    try {
      const pages: Prediction[][] = [];
      for await (const page of other.paginate(() => other.predictions.list())) pages.push(page);
      expect(pages.map((p) => p.length)).toEqual([2, 1]);
      expect(pages.flat().map((p) => p.id)).toEqual(mine.reverse());
    } finally {
      api.deps.replicate.predictions.pageSize = 100;
    }
  });

  it('errors surface as the SDK ApiError with their status', async () => {
    const unknown = await replicate.predictions.get('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(apiError(unknown).response.status).toBe(404);
    const wrongModel = await replicate.run('local/resnet51', { input: { image: 'data:,' } }).catch((e: unknown) => e);
    expect(apiError(wrongModel).response.status).toBe(404);
    expect((wrongModel as ApiError).message).toContain('unknown_model');
    const badKey = new Replicate({ auth: 'wrong', baseUrl: `${api.url}/v1` });
    const refused = await badKey.models.get('local', defaultModelName).catch((e: unknown) => e);
    expect(apiError(refused).response.status).toBe(401);
    const notImage = await replicate
      .run(model, { input: { image: `data:text/plain;base64,${Buffer.from('hello').toString('base64')}` } })
      .catch((e: unknown) => e);
    expect(apiError(notImage).response.status).toBe(400);
    expect(JSON.parse((notImage as ApiError).message.replace(/^[^{]*|[^}]*$/g, ''))).toMatchObject({
      status: 400,
      code: 'invalid_image',
    });
  });

  it('models.get describes a served model, its version the sha256 of its ONNX file', async () => {
    const described = await replicate.models.get('local', defaultModelName);
    expect(described.name).toBe(defaultModelName);
    expect(described.latest_version?.id).toMatch(/^[0-9a-f]{64}$/);
    const byVersion = await replicate.predictions.create({
      version: described.latest_version!.id,
      input: { image: `data:image/jpeg;base64,${(await image('baboon.jpg')).toString('base64')}` },
      wait: 30,
    });
    expect(byVersion.status).toBe('succeeded');
    expect(top1(byVersion.output)).toBe('baboon');
  });
});

describe('files', () => {
  it('files.create, get, delete: only the key that uploaded a file sees it', async () => {
    const file = await replicate.files.create(await image('eagle.jpg'));
    expect(file.content_type).toBe('image/jpeg');
    expect((await replicate.files.get(file.id)).size).toBe(file.size);
    const other = new Replicate({ auth: 'another-key', baseUrl: `${api.url}/v1` });
    expect(apiError(await other.files.get(file.id).catch((e: unknown) => e)).response.status).toBe(404);
    const used = await other.run(model, { input: { image: file.urls.get } }).catch((e: unknown) => e);
    expect(apiError(used).response.status).toBe(400);
    expect(await replicate.files.delete(file.id)).toBe(true);
    expect(apiError(await replicate.files.get(file.id).catch((e: unknown) => e)).response.status).toBe(404);
  });
  it('holds at most MAX_QUEUE_DEPTH files per key: the next upload is a 429 until one is deleted', async () => {
    const small = await startInProcessApi(testConfig(inject('redisUrl'), { MAX_QUEUE_DEPTH: '2' }));
    try {
      const client = new Replicate({ baseUrl: `${small.url}/v1` });
      const photo = await image('orange.jpg');
      const first = await client.files.create(photo);
      await client.files.create(photo);
      const refused = apiError(await client.files.create(photo).catch((e: unknown) => e));
      expect(refused.response.status).toBe(429);
      expect(refused.message).toContain('2 files are already stored');
      expect(await client.files.delete(first.id)).toBe(true);
      expect((await client.files.create(photo)).size).toBe(photo.length);
    } finally {
      await small.close();
    }
  });
});

describe('webhooks', () => {
  const uri = async () => `data:image/jpeg;base64,${(await image('eagle.jpg')).toString('base64')}`;
  const deliveriesOf = (id: string) => loopback.deliveries.filter((d) => (JSON.parse(d.body) as Prediction).id === id);

  it('sends start then completed, each accepted by validateWebhook with the secret the SDK reads', async () => {
    const { key } = await replicate.webhooks.default.secret.get();
    expect(key).toBe(secret);
    const created = await replicate.predictions.create({
      model,
      input: { image: await uri() },
      webhook: loopback.base,
    });
    await until('two deliveries', () => deliveriesOf(created.id).length >= 2);
    const received = deliveriesOf(created.id);
    for (const d of received) {
      // As a receiver built on fetch's Request (Next.js, Workers…) hands it over.
      const request = new Request(loopback.base, { method: 'POST', headers: d.headers, body: d.body });
      expect(await validateWebhook(request, key)).toBe(true);
    }
    const forged = new Request(loopback.base, { method: 'POST', headers: received[0]!.headers, body: '{}' });
    expect(await validateWebhook(forged, key)).toBe(false);
    const bodies = received.map((d) => JSON.parse(d.body) as Prediction);
    expect(bodies.map((b) => b.status)).toEqual(['starting', 'succeeded']);
    expect(top1(bodies[1]!.output)).toBe('bald_eagle');
  });

  it('sends only completed under webhook_events_filter ["completed"]', async () => {
    const created = await replicate.predictions.create({
      model,
      input: { image: await uri() },
      webhook: loopback.base,
      webhook_events_filter: ['completed'],
    });
    await replicate.wait(created, { interval: 50 });
    await until('the completed delivery', () => deliveriesOf(created.id).length >= 1);
    // A start event would have been queued with the job, before it ran: there is none.
    const webhooks = new Queue(webhookQueueName(api.config.queue.name), {
      connection: api.deps.redis,
      prefix: keyPrefix,
    });
    expect(await webhooks.getJob(`msg_${created.id}_start`)).toBeUndefined();
    expect(await webhooks.getJob(`msg_${created.id}`)).toBeDefined();
    await webhooks.close();
    expect(deliveriesOf(created.id).map((d) => (JSON.parse(d.body) as Prediction).status)).toEqual(['succeeded']);
  });

  it('gives the secret only to an API key', async () => {
    const open = await startInProcessApi(testConfig(inject('redisUrl'), { WEBHOOK_SECRET: secret }));
    try {
      const client = new Replicate({ baseUrl: `${open.url}/v1` });
      const err = await client.webhooks.default.secret.get().catch((e: unknown) => e);
      expect(apiError(err).response.status).toBe(403);
      expect((err as ApiError).message).not.toContain(secret);
    } finally {
      await open.close();
    }
  });
});
