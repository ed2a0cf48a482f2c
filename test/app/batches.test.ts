import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bullmqPriority } from '../../src/queue/job-schemas.js';
import { queueKeys } from '../../src/queue/keys.js';
import { defaultJobQueue } from '../support/paths.js';
import * as fx from '../support/fixtures.js';
import { get, image, type ErrorBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { until } from '../support/wait.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const maxUploadBytes = 1024 * 1024;
/** No worker: its batches stay queued, so their state and stored inputs can be read exactly. */
let idle: InProcessApi;
/** A worker from the start: its batches finish. */
let working: InProcessApi;

interface Submitted {
  id: string;
  total: number;
  links: { self: string; wait: string; results: string };
}
interface BatchBody extends Submitted {
  status: string;
  completed: number;
  failed: number;
  createdAt: string;
  finishedAt?: string;
}
interface Line {
  index: number;
  filename: string;
  id?: string;
  status: string;
  result?: { predictions: { label: string }[] };
  error?: { code: string; message: string };
}

const env = {
  // Submissions are accepted while no worker runs, for the whole file.
  WORKER_GRACE_SECONDS: '3600',
  MAX_BATCH_IMAGES: '8',
  MAX_UPLOAD_BYTES: String(maxUploadBytes),
  WEBHOOK_SECRET: secret,
  WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
};
beforeAll(async () => {
  [idle, working] = await Promise.all([
    startInProcessApi(testConfig(inject('redisUrl'), env)),
    startInProcessApi(testConfig(inject('redisUrl'), env)),
  ]);
  await working.startWorker();
});
afterAll(async () => {
  await Promise.all([idle?.close(), working?.close()]);
});

function form(parts: [string, Buffer][], fields: Record<string, string> = {}): FormData {
  const body = new FormData();
  for (const [filename, bytes] of parts) body.append('image', new Blob([new Uint8Array(bytes)]), filename);
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return body;
}

async function postBatch<T = Submitted>(
  api: InProcessApi,
  body: FormData | Uint8Array,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${api.url}/batches`, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as T };
}

/** The idle service's stored inputs: nothing consumes them, so the count only grows by what a test adds. */
async function storedInputs(): Promise<number> {
  return (await idle.connected.deps.redis.keys(queueKeys(defaultJobQueue(idle.config.queue.name)).input('*'))).length;
}

describe('POST /batches refuses', () => {
  it('more than MAX_BATCH_IMAGES images with 413, and keeps none of their inputs', async () => {
    const small = await image('orange.jpg');
    const before = await storedInputs();
    const res = await postBatch<ErrorBody>(
      idle,
      form(Array.from({ length: 9 }, (_, i): [string, Buffer] => [`${i}.jpg`, small])),
    );
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining('at most 8 images') as string,
    });
    expect(await storedInputs()).toBe(before);
  });

  it('a body without images, and a body that is not multipart, with 400', async () => {
    const before = await storedInputs();
    const empty = await postBatch<ErrorBody>(idle, form([], { topk: '3' }));
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('missing_image');
    const raw = await postBatch<ErrorBody>(idle, new Uint8Array(await image('orange.jpg')), {
      'content-type': 'image/jpeg',
    });
    expect(raw.status).toBe(400);
    expect(raw.body.error.code).toBe('invalid_request');
    const badOption = await postBatch<ErrorBody>(
      idle,
      form([['a.jpg', await image('orange.jpg')]], { priority: 'soon' }),
    );
    expect(badOption.status).toBe(400);
    expect(badOption.body.error.message).toMatch(/^priority/);
    expect(await storedInputs()).toBe(before);
  });

  it('unknown batches with 404 on every route', async () => {
    for (const route of ['', '/wait?timeout=0', '/results']) {
      for (const id of [randomUUID(), 'nope']) {
        const res = await get<ErrorBody>(idle.url, `/batches/${id}${route}`);
        expect(res.status, route).toBe(404);
        expect(res.body.error.code).toBe('not_found');
      }
    }
  });
});

const uploads: [string, () => Promise<Buffer>, string][] = [
  ['coffee.png', () => image('coffee.png'), 'completed'],
  ['notes.txt', () => Promise.resolve(Buffer.from('not an image')), 'invalid_image'],
  ['empty.jpg', () => Promise.resolve(Buffer.alloc(0)), 'empty_image'],
  ['orange.jpg', () => image('orange.jpg'), 'completed'],
  ['huge.jpg', () => Promise.resolve(randomBytes(maxUploadBytes + 1)), 'payload_too_large'],
  ['eagle.jpg', () => image('eagle.jpg'), 'completed'],
  ['drawing.svg', () => Promise.resolve(fx.svg()), 'unsupported_format'],
];

/** Submits the seven uploads above, three good images among them (options may follow the images). */
async function submitMixedBatch(api: InProcessApi) {
  const parts = await Promise.all(
    uploads.map(async ([name, bytes]): Promise<[string, Buffer]> => [name, await bytes()]),
  );
  const res = await postBatch(api, form(parts, { topk: '3' }));
  expect(res.status).toBe(202);
  return res;
}

describe('a queued batch', () => {
  let submitted: Awaited<ReturnType<typeof submitMixedBatch>>;
  let batch: Submitted;
  beforeAll(async () => {
    submitted = await submitMixedBatch(idle);
    batch = submitted.body;
  });

  it('is accepted with 202, each bad image failing only its own entry', () => {
    expect(batch).toEqual({
      id: batch.id,
      total: 7,
      links: {
        self: `/batches/${batch.id}`,
        wait: `/batches/${batch.id}/wait`,
        results: `/batches/${batch.id}/results`,
      },
    });
    expect(submitted.headers.get('location')).toBe(batch.links.self);
  });

  it('reports its progress, and a long-poll answers 202 while it runs', async () => {
    const status = await get<BatchBody>(idle.url, batch.links.self);
    expect(status.body).toMatchObject({ id: batch.id, status: 'queued', total: 7, completed: 0, failed: 4 });
    expect(Date.parse(status.body.createdAt)).not.toBeNaN();
    const early = await get<BatchBody>(idle.url, `${batch.links.wait}?timeout=0`);
    expect(early.status).toBe(202);
    expect(early.headers.get('location')).toBe(batch.links.self);
  });

  it('queues its images as bulk work', async () => {
    const lines = await results(idle, batch);
    const job = await Job.fromId(idle.connected.deps.operators.queues[0]!, lines[0]!.id!);
    expect(job?.priority).toBe(bullmqPriority.bulk);
  });
});

describe('a finished batch', () => {
  let batch: Submitted;
  beforeAll(async () => {
    batch = (await submitMixedBatch(working)).body;
  });

  it('wakes its long-poll with the final tally', async () => {
    const done = await get<BatchBody>(working.url, `${batch.links.wait}?timeout=60`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', total: 7, completed: 3, failed: 4 });
    expect(Date.parse(done.body.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.body.createdAt));
  });

  it('serves its results as NDJSON in upload order with filenames, results and errors', async () => {
    expect((await get(working.url, `${batch.links.wait}?timeout=60`)).status).toBe(200);
    const res = await fetch(`${working.url}${batch.links.results}`);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => [l.index, l.filename])).toEqual(uploads.map(([name], i) => [i, name]));
    lines.forEach((line, i) => {
      const expected = uploads[i]![2];
      if (expected === 'completed') {
        expect(line.status).toBe('completed');
        expect(line.result!.predictions).toHaveLength(3);
      } else {
        expect(line).toMatchObject({ status: 'failed', error: { code: expected } });
        expect(line.id).toBeUndefined();
      }
    });
    expect(lines.map((l) => l.result?.predictions[0]!.label)).toEqual([
      'espresso',
      undefined,
      undefined,
      'orange',
      undefined,
      'bald_eagle',
      undefined,
    ]);
  });
});

async function results(api: InProcessApi, of: Submitted): Promise<Line[]> {
  const text = await (await fetch(`${api.url}${of.links.results}`)).text();
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
}

describe('streaming', () => {
  it('each image is checked and stored while the rest of the body is still being sent', async () => {
    const boundary = `----batch${randomUUID()}`;
    const opening = (name: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${name}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n';
    const before = await storedInputs();
    const req = http.request(`${idle.url}/batches`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    const answered = new Promise<http.IncomingMessage>((resolve, reject) =>
      req.once('response', resolve).once('error', reject),
    );
    // The first image, and the next part's headers (a part ends where the next boundary begins).
    req.write(
      Buffer.concat([
        Buffer.from(opening('first.jpg')),
        await image('orange.jpg'),
        Buffer.from(`\r\n${opening('second.jpg')}`),
      ]),
    );
    // The body is not finished, yet the first image's crop reaches Redis.
    await until(
      'the first image stored before the body ended',
      async () => (await storedInputs()) > before,
      30_000,
      20,
    );
    req.end(Buffer.concat([await image('eagle.jpg'), Buffer.from(`\r\n--${boundary}--\r\n`)]));
    const res = await answered;
    let text = '';
    for await (const chunk of res) text += String(chunk);
    expect(res.statusCode).toBe(202);
    expect((JSON.parse(text) as Submitted).total).toBe(2);
  });
});

describe('batch webhooks', () => {
  it('POSTs the finished batch, signed, to its webhook', async () => {
    let accepted: (body: { headers: http.IncomingHttpHeaders; body: string }) => void = () => undefined;
    const delivered = new Promise<{ headers: http.IncomingHttpHeaders; body: string }>(
      (resolve) => (accepted = resolve),
    );
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(204).end();
        accepted({ headers: req.headers, body });
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/batch-done`;
      const res = await postBatch(
        working,
        form(
          [
            ['a.jpg', await image('orange.jpg')],
            ['b.txt', Buffer.from('text')],
          ],
          { webhook: url },
        ),
      );
      expect(res.status).toBe(202);
      const delivery = await delivered;
      const payload = new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>) as {
        type: string;
        data: BatchBody;
      };
      expect(payload.type).toBe('batch.completed');
      expect(payload.data).toMatchObject({ id: res.body.id, status: 'completed', total: 2, completed: 1, failed: 1 });
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});

describe('batches with API keys', () => {
  it('are visible only to the key that created them', async () => {
    const keyed = await startInProcessApi(
      testConfig(inject('redisUrl'), { API_KEYS: 'alpha-key-0123456789,beta-key-9876543210' }),
    );
    try {
      const alpha = { Authorization: 'Bearer alpha-key-0123456789' };
      const beta = { Authorization: 'Bearer beta-key-9876543210' };
      const body = form([['a.jpg', await image('orange.jpg')]]);
      expect((await fetch(`${keyed.url}/batches`, { method: 'POST', body })).status).toBe(401);
      const res = await fetch(`${keyed.url}/batches`, {
        method: 'POST',
        body: form([['a.jpg', await image('orange.jpg')]]),
        headers: alpha,
      });
      expect(res.status).toBe(202);
      const { links } = (await res.json()) as Submitted;
      for (const route of [links.self, `${links.wait}?timeout=0`, links.results]) {
        expect((await fetch(`${keyed.url}${route}`, { headers: alpha })).status, route).not.toBe(404);
        expect((await fetch(`${keyed.url}${route}`, { headers: beta })).status, route).toBe(404);
      }
    } finally {
      await keyed.close();
    }
  });
});
