/**
 * The front door of the service, in process: every common format read right, wrong bodies
 * answered 400 naming the problem, and hostile uploads (over the limit, too many at once,
 * aborted, odd methods, huge headers) answered with JSON and without error-level logs.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import * as fx from '../support/fixtures.js';
import { postImage, submitAndWait, type ErrorBody } from '../support/http.js';
import { captureLogs, startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

const maxUploadBytes = 4 * 1024 * 1024;
const logs = captureLogs();
let api: InProcessApi;
let url: string;

beforeAll(async () => {
  api = await startInProcessApi(
    testConfig(inject('redisUrl'), {
      MAX_UPLOAD_BYTES: String(maxUploadBytes),
      MAX_CONCURRENT_UPLOADS: '2',
      LOG_LEVEL: 'info',
    }),
    { logs: logs.destination },
  );
  await api.startWorker();
  url = api.url;
});
afterAll(async () => {
  try {
    // Whatever order the tests ran in, the service is still up and logged nothing at error level.
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(unexpectedErrorLogs()).toEqual([]);
  } finally {
    await api?.close();
  }
});

const coffeeLabels = ['espresso', 'cup', 'coffee_mug'];

/**
 * Error-level log lines other than the 503s the error policy logs on purpose (readiness polled
 * before the worker is up, uploads refused by the cap).
 */
const unexpectedErrorLogs = () =>
  logs
    .text()
    .split('\n')
    .filter((line) => /"level":(50|60)/.test(line) && !/"code":"(no_worker|unavailable)"/.test(line));

describe('formats: the bytes decide, whatever the filename and declared type', () => {
  it.each([
    ['progressive JPEG', fx.progressiveJpeg],
    ['palette PNG', fx.palettePng],
    ['animated WebP (first frame: coffee, not orange)', fx.animatedWebp],
    ['AVIF', fx.avif],
    ['TIFF', fx.tiff],
    ['12 MP phone photo, EXIF orientation 3', () => fx.phonePhoto(3)],
    ['12 MP phone photo, EXIF orientation 6', () => fx.phonePhoto(6)],
    ['12 MP phone photo, EXIF orientation 8', () => fx.phonePhoto(8)],
  ] as const)('%s is classified', async (_name, make) => {
    const job = await submitAndWait(url, await make());
    expect(job.status).toBe('completed');
    expect(coffeeLabels).toContain(job.result!.predictions[0]!.label);
  });

  it.each([
    ['BMP', fx.bmp],
    ['HEIC', fx.heic],
    ['SVG', fx.svg],
    ['PDF', fx.pdf],
    ['ICO', fx.ico],
  ] as const)('%s sent as photo.jpg, image/jpeg: 415 listing the supported formats', async (_name, make) => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(make())], { type: 'image/jpeg' }), 'photo.jpg');
    const res = await fetch(`${url}/jobs`, { method: 'POST', body: form });
    expect(res.status).toBe(415);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('unsupported_format');
    expect(body.error.message).toContain('JPEG, PNG, WebP, GIF, AVIF or TIFF');
  });
});

describe('bodies that are not one image: 400 naming what was wrong', () => {
  const post = async (form: FormData, route = '/jobs') => {
    const res = await fetch(`${url}${route}`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as ErrorBody };
  };
  const photo = async () => new Blob([new Uint8Array(await fx.baselineJpeg())]);

  it('the image under another field name', async () => {
    const form = new FormData();
    form.append('file', await photo(), 'photo.jpg');
    const res = await post(form);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('missing_image');
    expect(res.body.error.message).toContain('"file"');
  });

  it('several files', async () => {
    const form = new FormData();
    form.append('image', await photo(), 'a.jpg');
    form.append('image', await photo(), 'b.jpg');
    const res = await post(form);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toContain('2 files');
  });

  it('extra fields', async () => {
    const form = new FormData();
    form.append('image', await photo(), 'photo.jpg');
    form.append('note', 'hello');
    const res = await post(form);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toContain('"note"');
  });

  it('JSON whose decoded image is over the limit (the JSON itself is under its own): 413', async () => {
    const image = Buffer.alloc(maxUploadBytes + 1, 0xff).toString('base64');
    const res = await fetch(`${url}/predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: [{ b64: image }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ success: false, code: 'payload_too_large' });
  });

  it('JSON in another shape', async () => {
    const res = await fetch(`${url}/jobs`, {
      method: 'POST',
      body: JSON.stringify({ picture: 'abc' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain('{"image": "<base64>"}');
  });
});

/** An upload that declares `bytes`, asks to continue, and sends nothing until the server says so. */
function heldUpload(bytes: number) {
  const req = http.request(`${url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg', 'content-length': bytes, expect: '100-continue' },
  });
  req.on('error', () => undefined);
  const admitted = new Promise<void>((resolve) => req.once('continue', resolve));
  req.flushHeaders();
  return { admitted, abort: () => req.destroy() };
}

/** Through node:http, which sends any method (fetch refuses TRACE). */
function request(
  method: string,
  path: string,
): Promise<{ status: number; allow: string | undefined; body: ErrorBody }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode!, allow: res.headers.allow, body: JSON.parse(text) as ErrorBody }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hostile uploads', () => {
  it('a chunked body over the limit: 413 JSON, not a reset connection', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0xff);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= maxUploadBytes + chunk.length * 4) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${url}/jobs`, {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large');
  });

  it('over MAX_CONCURRENT_UPLOADS: 503 and Retry-After at once; aborted held uploads log no errors', async () => {
    const held = [heldUpload(1024 * 1024), heldUpload(1024 * 1024)];
    // The server answers 100 Continue only once it admitted the upload and is about to read it.
    await Promise.all(held.map((h) => h.admitted));
    const refused = await postImage<ErrorBody>(url, await fx.baselineJpeg());
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    const before = logs.text().split('client closed the connection').length;
    held.forEach((h) => h.abort());
    await vi.waitFor(() => expect(logs.text().split('client closed the connection').length).toBe(before + 2), {
      timeout: 10_000,
    });
    const job = await submitAndWait(url, await fx.baselineJpeg());
    expect(job.status).toBe('completed');
    expect(unexpectedErrorLogs()).toEqual([]);
  });

  it.each(['PROPFIND', 'TRACE', 'PATCH'])('%s: 405 JSON with Allow, never a 500', async (method) => {
    const jobs = await request(method, '/jobs');
    expect(jobs.status).toBe(405);
    expect(jobs.allow).toBe('POST');
    expect(jobs.body.error.code).toBe('method_not_allowed');
    const page = await request(method, '/');
    expect(page.status).toBe(405);
    expect(page.allow).toMatch(/GET/);
    const nowhere = await request(method, '/nowhere');
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.error.code).toBe('not_found');
  });

  it('bytes that are not HTTP: JSON 400, logged as a refusal rather than an error', async () => {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.end('HELLO THERE\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    const [head, body] = text.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/content-type: application\/json/i);
    expect((JSON.parse(body!) as ErrorBody).error.code).toBe('invalid_request');
    expect(logs.text()).toMatch(/"level":30[^\n]*"msg":"refused a malformed request"/);
  });

  it('oversized headers: JSON 431', async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-padding': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await res.json()) as ErrorBody).error.code).toBe('headers_too_large');
  });
});
