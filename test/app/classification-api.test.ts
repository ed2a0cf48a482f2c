/**
 * The job API end to end in one process: the app on a loopback port, a real worker with the real
 * model on the same queue. Classification, the tutorial endpoint, bad input, and load.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as fx from '../support/fixtures.js';
import { fuzzCases } from '../support/fuzz-cases.js';
import { get, image, postImage, submitAndWait, type ErrorBody, type JobBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { expectedTop1 } from '../support/paths.js';

let api: InProcessApi;
let url: string;
/** Process warnings (a listener leak is one) while this file's service runs. */
const warnings: Error[] = [];
const onWarning = (warning: Error) => void warnings.push(warning);

beforeAll(async () => {
  process.on('warning', onWarning);
  api = await startInProcessApi(testConfig(inject('redisUrl'), { MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) }));
  await api.startWorker();
  url = api.url;
});
afterAll(async () => {
  try {
    // Whatever order the tests ran in, nothing they sent took the service down.
    expect((await get(url, '/readyz')).status).toBe(200);
  } finally {
    process.off('warning', onWarning);
    await api?.close();
  }
});

describe('classification through the queue', () => {
  it.each(Object.entries(expectedTop1))('%s gets its expected top-1', async (name, labels) => {
    const job = await submitAndWait(url, await image(name));
    expect(job.status).toBe('completed');
    expect(labels).toContain(job.result!.predictions[0]!.label);
    expect(job.result!.predictions).toHaveLength(5);
  });

  it('answers 202 with id, links and Location; the finished job has timestamps and a batch size', async () => {
    const submitted = await postImage(url, await image('orange.jpg'), { query: '?topk=3' });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({
      status: 'queued',
      links: { self: `/jobs/${submitted.body.id}`, wait: `/jobs/${submitted.body.id}/wait` },
    });
    expect(submitted.headers.get('location')).toBe(`/jobs/${submitted.body.id}`);
    expect(Date.parse(submitted.body.createdAt)).not.toBeNaN();
    const waited = await get(url, `${submitted.body.links.wait}?timeout=30`);
    expect(waited.status).toBe(200);
    const job = (await get(url, submitted.body.links.self)).body;
    expect(job).toMatchObject({
      id: submitted.body.id,
      status: 'completed',
      result: { model: 'resnet50-v1.5-int8', precision: 'int8' },
    });
    expect(job.result!.predictions).toHaveLength(3);
    expect(job.result!.predictions[0]).toMatchObject({ label: 'orange', classId: 950 });
    expect(job.batchSize).toBeGreaterThanOrEqual(1);
    const times = [job.createdAt, job.startedAt!, job.finishedAt!].map(Date.parse);
    expect(times[0]! <= times[1]! && times[1]! <= times[2]!).toBe(true);
  });

  it('accepts a raw image/* body', async () => {
    const res = await fetch(`${url}/jobs`, {
      method: 'POST',
      body: new Uint8Array(await image('eagle.jpg')),
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as JobBody).id;
    const job = await get(url, `/jobs/${id}/wait?timeout=30`);
    expect(job.body.result!.predictions[0]!.label).toBe('bald_eagle');
  });

  it('Prefer: wait=S returns the finished job synchronously with 200', async () => {
    const res = await postImage(url, await image('baboon.jpg'), { headers: { Prefer: 'wait=30' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=30');
    expect(res.body.status).toBe('completed');
    expect(res.body.result!.predictions[0]!.label).toBe('baboon');
  });

  it('a wait on an already finished job answers at once', async () => {
    const job = await submitAndWait(url, await image('coffee.png'));
    // A wait that missed the finished state would sit out its 60 s and be aborted long before.
    const again = await get(url, `/jobs/${job.id}/wait?timeout=60`, { signal: AbortSignal.timeout(15_000) });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: job.id, status: 'completed' });
  });

  it('unknown and malformed job ids answer 404 JSON', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '..%2F..%2Fetc']) {
      for (const route of [`/jobs/${id}`, `/jobs/${id}/wait?timeout=1`]) {
        const res = await get<ErrorBody>(url, route);
        expect(res.status, route).toBe(404);
        expect(res.body.error.code).toBe('not_found');
      }
    }
  });

  it('rejects bad query parameters with 400 naming them', async () => {
    const bytes = await image('orange.jpg');
    for (const [query, name] of [
      ['?topk=0', 'topk'],
      ['?topk=21', 'topk'],
      ['?topk=abc', 'topk'],
      ['?deadline=abc', 'deadline'],
      ['?deadline=0', 'deadline'],
    ]) {
      const res = await postImage<ErrorBody>(url, bytes, { query });
      expect(res.status, query).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request' });
      expect(res.body.error.message).toContain(name);
    }
    const wait = await get<ErrorBody>(url, '/jobs/00000000-0000-4000-8000-000000000000/wait?timeout=-1');
    expect(wait.status).toBe(400);
    expect(wait.body.error.message).toContain('timeout');
  });
});

describe('POST /predict keeps the Flask tutorial contract', () => {
  it('answers {success, predictions[{label, probability}]} with Keras labels, top 5', async () => {
    const res = await postImage<Record<string, unknown>>(url, await image('coffee.png'), { route: '/predict' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['predictions', 'success']);
    expect(res.body['success']).toBe(true);
    const predictions = res.body['predictions'] as Record<string, unknown>[];
    expect(predictions).toHaveLength(5);
    for (const p of predictions) {
      expect(Object.keys(p).sort()).toEqual(['label', 'probability']);
      expect(typeof p['probability']).toBe('number');
    }
    expect(predictions[0]!['label']).toBe('espresso');
  });

  it('answers bad input with {success: false, error} and a 4xx', async () => {
    const res = await postImage<Record<string, unknown>>(url, Buffer.from('hello'), { route: '/predict' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'invalid_image' });
    expect(typeof res.body['error']).toBe('string');
  });
});

describe('bad input over HTTP: a clear 4xx JSON error, and the service stays up', () => {
  it.each([
    ['missing field', () => undefined, 400, 'missing_image'],
    ['empty file', () => Buffer.alloc(0), 400, 'empty_image'],
    ['non-image bytes', () => Buffer.from('definitely not a picture, just some text'), 400, 'invalid_image'],
    ['truncated JPEG', fx.truncatedJpeg, 422, 'corrupt_image'],
    ['unsupported format (BMP)', () => fx.bmp(), 415, 'unsupported_format'],
    ['SVG', fx.svg, 415, 'unsupported_format'],
    ['upload over the size limit', () => Buffer.alloc(3 * 1024 * 1024, 0xff), 413, 'payload_too_large'],
    ['30000x30000 PNG bomb', fx.pngBomb, 422, 'image_too_large'],
  ] as const)('%s', async (_name, make, status, code) => {
    const res = await postImage<ErrorBody>(url, await make());
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(10);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('a raw body over the limit gets 413, and a JSON body without valid base64 gets 400 naming it', async () => {
    const big = await fetch(`${url}/jobs`, {
      method: 'POST',
      body: new Uint8Array(3 * 1024 * 1024),
      headers: { 'content-type': 'image/png' },
    });
    expect(big.status).toBe(413);
    const json = await fetch(`${url}/jobs`, {
      method: 'POST',
      body: '{"image": "x"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(400);
    const { error } = (await json.json()) as ErrorBody;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain('base64');
  });

  it.each([
    ['animated GIF (first frame: coffee, not orange)', fx.animatedGif, ['espresso', 'cup', 'coffee_mug']],
    ['CMYK JPEG', fx.cmykJpeg, ['espresso']],
    ['16-bit PNG', fx.png16, ['espresso']],
    ['greyscale', fx.greyscale, ['espresso', 'cup', 'coffee_mug']],
    ['alpha', fx.withAlpha, ['espresso']],
    ['EXIF-rotated photo', fx.exifRotated, ['espresso']],
  ] as const)('%s is classified', async (_name, make, labels) => {
    const job = await submitAndWait(url, await make());
    expect(job.status).toBe('completed');
    expect(labels).toContain(job.result!.predictions[0]!.label);
  });

  it('unknown routes and methods answer JSON 404/405', async () => {
    expect((await get<ErrorBody>(url, '/nothing-here')).body.error.code).toBe('not_found');
    const res = await get<ErrorBody>(url, '/jobs', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.body.error.code).toBe('method_not_allowed');
  });

  it('400 fuzzed uploads over HTTP: every answer is 202 or a 4xx JSON error, never a 5xx', async () => {
    const cases = await fuzzCases(400, 0xf00d);
    const statuses = new Map<number, number>();
    for (let i = 0; i < cases.length; i += 8) {
      const replies = await Promise.all(cases.slice(i, i + 8).map((c) => postImage<ErrorBody>(url, c.bytes)));
      replies.forEach((res, k) => {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status === 202 || (res.status >= 400 && res.status < 500), cases[i + k]!.name).toBe(true);
        if (res.status !== 202) expect(res.body.error.code, cases[i + k]!.name).toMatch(/^[a-z_]+$/);
      });
    }
    expect(statuses.get(202) ?? 0).toBeGreaterThan(10);
  });

  it('readiness names the model and its precision; health says ok', async () => {
    const ready = await get(url, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', model: 'resnet50-v1.5-int8', precision: 'int8' });
    expect((await get(url, '/healthz')).body).toEqual({ status: 'ok' });
  });
});

describe('batching and long-poll under concurrency', () => {
  it('40 concurrent submissions all complete, and some ran in a batch larger than 1', async () => {
    const names = Object.keys(expectedTop1);
    const bytes = await Promise.all(names.map(image));
    const jobs = await Promise.all(Array.from({ length: 40 }, (_, i) => submitAndWait(url, bytes[i % bytes.length]!)));
    jobs.forEach((job, i) => {
      expect(job.status).toBe('completed');
      expect(expectedTop1[names[i % names.length]!]).toContain(job.result!.predictions[0]!.label);
    });
    expect(Math.max(...jobs.map((j) => j.batchSize!))).toBeGreaterThan(1);
  });

  it('500 concurrent long-poll waiters all resolve, with no listener-leak warning', async () => {
    const bytes = await image('orange.jpg');
    const submitted = await Promise.all(Array.from({ length: 20 }, () => postImage(url, bytes)));
    const waits = await Promise.all(
      Array.from({ length: 500 }, (_, i) => get(url, `${submitted[i % submitted.length]!.body.links.wait}?timeout=60`)),
    );
    expect(waits.every((w) => w.status === 200 && w.body.status === 'completed')).toBe(true);
    const leaks = warnings
      .map((w) => `${w.name}: ${w.message}`)
      .filter((w) => /MaxListenersExceeded|memory leak/i.test(w));
    expect(leaks).toEqual([]);
  });
});
