import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyPrefix } from '../../src/queue/keys.js';
import { connectRedis } from '../../src/redis.js';
import type { OpenApiDocument } from '../../src/api/openapi/openapi-document.js';
import { postWebhook } from '../../src/webhook/post-webhook.js';
import { webhookQueueName } from '../../src/webhook/webhook-queue.js';
import { coffee } from '../support/fixtures.js';
import { get, image, postImage, type ErrorBody, type JobBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { ResponseValidator } from '../support/openapi-validator.js';
import { defaultModelName } from '../support/paths.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A receiver on loopback that refuses the first `failures` deliveries with 500. */
async function startReceiver(failures: number) {
  const deliveries: Delivery[] = [];
  let accepted: (d: Delivery) => void = () => undefined;
  const firstAccepted = new Promise<Delivery>((resolve) => (accepted = resolve));
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = deliveries.length < failures ? 500 : 204;
      const delivery = { headers: req.headers, body, status };
      deliveries.push(delivery);
      res.writeHead(status).end();
      if (status === 204) accepted(delivery);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, deliveries, firstAccepted, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let api: InProcessApi;
let photo: Buffer;
/** The document the API publishes, to check what the dispatcher sends against its `webhooks`. */
let published: ResponseValidator;

beforeAll(async () => {
  api = await startInProcessApi(
    testConfig(inject('redisUrl'), {
      WEBHOOK_SECRET: secret,
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_BACKOFF_MS: '50',
    }),
  );
  await api.startWorker();
  photo = await coffee();
  published = new ResponseValidator((await get<OpenApiDocument>(api.url, '/openapi.json')).body);
});
afterAll(async () => {
  await api?.close();
});

/** The delivery job of a message once BullMQ has settled it (its own event, not a timer). */
async function settledDelivery(messageId: string): Promise<{ state: string; job: Job }> {
  const name = webhookQueueName(api.config.queue.name);
  const queue = new Queue(name, { connection: api.connected.deps.redis, prefix: keyPrefix });
  const events = new QueueEvents(name, {
    connection: connectRedis(api.config.redis.target!, 'blocking'),
    prefix: keyPrefix,
  });
  try {
    await events.waitUntilReady();
    const job = await Job.fromId(queue, messageId);
    if (!job) throw new Error(`no delivery job ${messageId}`);
    // Subscribes first, then checks: a delivery that settled already answers at once.
    await job.waitUntilFinished(events, 30_000);
    return { state: await job.getState(), job };
  } finally {
    await events.close();
    await queue.close();
  }
}

describe('webhooks', () => {
  it('a receiver failing twice gets exactly one accepted delivery, validly signed, one webhook-id', async () => {
    const receiver = await startReceiver(2);
    try {
      const submitted = await postImage(api.url, photo, { query: `?webhook=${encodeURIComponent(receiver.url)}` });
      expect(submitted.status).toBe(202);
      const accepted = await receiver.firstAccepted;
      // The delivery job has completed: BullMQ will not attempt it again.
      expect((await settledDelivery(accepted.headers['webhook-id'] as string)).state).toBe('completed');
      expect(receiver.deliveries.map((d) => d.status)).toEqual([500, 500, 204]);
      expect(new Set(receiver.deliveries.map((d) => d.headers['webhook-id'])).size).toBe(1);
      expect(new Set(receiver.deliveries.map((d) => d.body)).size).toBe(1);
      const payload = new Webhook(secret).verify(accepted.body, accepted.headers as Record<string, string>) as {
        type: string;
        data: JobBody;
      };
      expect(payload.type).toBe('job.completed');
      expect(payload.data).toMatchObject({
        id: submitted.body.id,
        status: 'completed',
        result: { model: 'resnet50-v1.5-int8' },
      });
      expect(payload.data.result!.predictions[0]!.label).toBe('espresso');
      // A signature made with another secret does not verify.
      expect(() =>
        new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(
          accepted.body,
          accepted.headers as Record<string, string>,
        ),
      ).toThrow();
    } finally {
      await receiver.close();
    }
  });

  it('sends only bodies the published document describes: job, batch, prediction start and completed', async () => {
    const receiver = await startReceiver(0);
    try {
      const hook = encodeURIComponent(receiver.url);
      const job = await postImage(api.url, photo, { query: `?webhook=${hook}` });
      const form = new FormData();
      form.append('webhook', receiver.url);
      form.append('image', new Blob([new Uint8Array(await image('orange.jpg'))]), 'a.jpg');
      form.append('image', new Blob([new Uint8Array(Buffer.from('text'))]), 'b.txt');
      const batch = (await (await fetch(`${api.url}/batches`, { method: 'POST', body: form })).json()) as {
        id: string;
      };
      const created = await fetch(`${api.url}/v1/models/local/${defaultModelName}/predictions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          input: { image: `data:image/png;base64,${photo.toString('base64')}` },
          webhook: receiver.url,
        }),
      });
      const prediction = (await created.json()) as { id: string };
      const expected = new Map([
        [`msg_${job.body.id}`, 'jobFinished'],
        [`msg_${batch.id}`, 'batchFinished'],
        [`msg_${prediction.id}_start`, 'predictionEvent'],
        [`msg_${prediction.id}`, 'predictionEvent'],
      ]);
      // A prediction's start message is a child of its final one: settled before it.
      for (const id of [job.body.id, batch.id, prediction.id])
        expect((await settledDelivery(`msg_${id}`)).state).toBe('completed');
      const sent = receiver.deliveries.map((d) => ({
        webhook: expected.get(d.headers['webhook-id'] as string),
        body: JSON.parse(d.body) as Record<string, unknown>,
      }));
      expect(sent.map((m) => m.webhook).sort()).toEqual([...expected.values()].sort());
      for (const { webhook, body } of sent) expect(published.messageProblems(webhook!, body), webhook).toEqual([]);
      // Not a rubber stamp: a message the document does not describe is refused.
      const jobMessage = sent.find((m) => m.webhook === 'jobFinished')!.body;
      expect(published.messageProblems('jobFinished', { ...jobMessage, type: 'job.active' })).not.toEqual([]);
      expect(published.messageProblems('batchFinished', jobMessage)).not.toEqual([]);
      expect(published.messageProblems('predictionEvent', { ...jobMessage.data!, surprise: 1 })).not.toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it.each([
    ['http to a host not allow-listed', 'http://example.com/hook'],
    ['loopback by name', 'https://localhost/hook'],
    ['loopback literal (https, not allow-listed)', 'https://127.0.0.2/hook'],
    ['private', 'https://10.1.2.3/hook'],
    ['metadata service', 'https://169.254.169.254/latest/meta-data'],
    ['IPv6 loopback', 'https://[::1]/hook'],
    ['IPv4-mapped IPv6', 'https://[::ffff:10.0.0.1]/hook'],
    ['credentials in the URL', 'https://user:pw@example.com/hook'],
    ['not a URL', 'hook.example'],
    ['another scheme', 'ftp://example.com/hook'],
  ])('refuses %s at submit with 400', async (_name, url) => {
    const res = await postImage<ErrorBody>(api.url, photo, { query: `?webhook=${encodeURIComponent(url)}` });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toMatch(/^webhook: /);
  });
});

describe('webhooks without WEBHOOK_SECRET', () => {
  it('are refused at submit with 400', async () => {
    const plain = await startInProcessApi(testConfig(inject('redisUrl')));
    try {
      const res = await postImage<ErrorBody>(plain.url, photo, {
        query: `?webhook=${encodeURIComponent('https://example.com/hook')}`,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('WEBHOOK_SECRET');
    } finally {
      await plain.close();
    }
  });
});

describe('webhooks of jobs that fail', () => {
  it('a job cancelled while queued is reported as job.failed with code cancelled', async () => {
    // No worker here: the job stays queued until it is cancelled.
    const idle = await startInProcessApi(
      testConfig(inject('redisUrl'), { WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_HOSTS: '127.0.0.1' }),
    );
    const receiver = await startReceiver(0);
    try {
      const form = new FormData();
      form.append('webhook', receiver.url);
      form.append('image', new Blob([new Uint8Array(photo)]), 'a.jpg');
      const submitted = (await (await fetch(`${idle.url}/jobs`, { method: 'POST', body: form })).json()) as JobBody;
      expect((await fetch(`${idle.url}/jobs/${submitted.id}`, { method: 'DELETE' })).status).toBe(200);
      const accepted = await receiver.firstAccepted;
      const payload = new Webhook(secret).verify(accepted.body, accepted.headers as Record<string, string>) as {
        type: string;
        data: JobBody;
      };
      expect(payload.type).toBe('job.failed');
      expect(payload.data).toMatchObject({ id: submitted.id, status: 'failed', error: { code: 'cancelled' } });
      expect(published.messageProblems('jobFinished', payload)).toEqual([]);
    } finally {
      await receiver.close();
      await idle.close();
    }
  });
});

describe('delivery', () => {
  it('goes to the checked address whatever the name resolves to now (DNS rebinding)', async () => {
    const receiver = await startReceiver(0);
    try {
      const port = new URL(receiver.url).port;
      // The name does not resolve at all: only the pinned address can have been used.
      const url = new URL(`http://rebound.invalid:${port}/hook`);
      expect(
        await postWebhook({ url, address: '127.0.0.1', family: 4 }, { 'content-type': 'application/json' }, '{}', 5000),
      ).toBe(204);
      const delivery = await receiver.firstAccepted;
      expect(delivery.headers.host).toBe(`rebound.invalid:${port}`);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver that trickles its answer holds an attempt no longer than its deadline; bytes capped', async () => {
    const servers: http.Server[] = [];
    const serve = async (handle: http.RequestListener) => {
      const server = http.createServer(handle);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (path = '/') => ({
        url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`),
        address: '127.0.0.1',
        family: 4 as const,
      });
    };
    // Its status at once, then one byte every 20 ms forever: an idle timeout between bytes never fires.
    const trickle = await serve((req, res) => {
      req.resume();
      res.writeHead(Number(new URL(req.url!, 'http://x').searchParams.get('status')));
      const drip = setInterval(() => res.write('x'), 20);
      res.once('close', () => clearInterval(drip));
    });
    const silent = await serve((req) => void req.resume());
    let dropped: () => void = () => undefined;
    const floodDropped = new Promise<void>((resolve) => (dropped = resolve));
    const flood = await serve((req, res) => {
      req.resume();
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const more = () => {
        while (res.write(chunk));
      };
      res.on('drain', more);
      res.once('close', dropped);
      more();
    });
    try {
      // The status line settles the attempt; the drip after it holds nothing.
      expect(await postWebhook(trickle('/?status=200'), {}, '{}', 60_000)).toBe(200);
      await expect(postWebhook(trickle('/?status=500'), {}, '{}', 60_000)).rejects.toThrow(/answered 500/);
      await expect(postWebhook(silent(), {}, '{}', 300)).rejects.toThrow(/no complete answer within 300 ms/);
      // An endless answer is read up to the cap, then the connection is dropped.
      expect(await postWebhook(flood(), {}, '{}', 60_000)).toBe(200);
      await floodDropped;
    } finally {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    }
  });
});
