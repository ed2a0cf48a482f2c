/**
 * Hostile multipart bodies on every upload route (issue 21, F1): a small valid upload cut off at
 * every byte offset, and with every byte corrupted, must each get a JSON answer (4xx for a broken
 * body), never take the process down (an unhandled 'error' from a part stream would fail this file
 * as an uncaught exception), and leave the API answering.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { get } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

let api: InProcessApi;
let png: Buffer;
const boundary = 'x';

beforeAll(async () => {
  api = await startInProcessApi(testConfig(inject('redisUrl')));
  // /predict answers once its job has run.
  await api.startWorker();
  png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
});
afterAll(async () => {
  await api?.close();
});

function part(name: string, body: Buffer | string, filename?: string): Buffer {
  const disposition = `form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}`;
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`),
    Buffer.from(body),
    Buffer.from('\r\n'),
  ]);
}

const end = Buffer.from(`--${boundary}--\r\n`);

/** The valid body of each route: an image and a text field (two images and a field for /batches). */
function bodies(): Record<string, Buffer> {
  return {
    '/jobs': Buffer.concat([part('priority', 'bulk'), part('image', png, 'a.png'), end]),
    '/predict': Buffer.concat([part('image', png, 'a.png'), end]),
    '/batches': Buffer.concat([part('image', png, 'a.png'), part('topk', '3'), part('image', png, 'b.png'), end]),
  };
}

async function post(route: string, body: Buffer): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${api.url}${route}`, {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

/**
 * Posts every body, eight at a time, and answers in the bodies' order: sent one by one, the bodies
 * that stay valid were each one forward pass, where eight at once share the worker's micro-batch.
 */
async function postAll(route: string, bodies: Buffer[]): Promise<{ status: number; json: unknown }[]> {
  const answers: { status: number; json: unknown }[] = [];
  for (let at = 0; at < bodies.length; at += 8) {
    answers.push(...(await Promise.all(bodies.slice(at, at + 8).map((body) => post(route, body)))));
  }
  return answers;
}

describe('multipart bodies cut off or corrupted at every byte (F1)', () => {
  it.each(['/jobs', '/predict', '/batches'])('%s: the valid body is accepted', async (route) => {
    expect((await post(route, bodies()[route]!)).status).toBeLessThan(300);
  });

  it.each(['/jobs', '/predict', '/batches'])(
    '%s: every truncation is a 4xx JSON error and the API keeps answering',
    async (route) => {
      const body = bodies()[route]!;
      // Only the CRLF after the closing delimiter may go: the body is complete without it.
      const cuts = Array.from({ length: body.length - 2 }, (_, cut) => body.subarray(0, cut));
      for (const [cut, { status, json }] of (await postAll(route, cuts)).entries()) {
        expect(status, `cut at ${cut}`).toBeGreaterThanOrEqual(400);
        expect(status, `cut at ${cut}`).toBeLessThan(500);
        expect(json, `cut at ${cut}`).toBeTypeOf('object');
      }
      expect((await get(api.url, '/healthz')).status).toBe(200);
    },
  );

  it.each(['/jobs', '/predict', '/batches'])(
    '%s: every corrupted byte gets a JSON answer, never a 5xx, and the API keeps answering',
    async (route) => {
      const body = bodies()[route]!;
      const corrupted = Array.from({ length: body.length }, (_, at) => {
        const copy = Buffer.from(body);
        copy[at] = copy[at]! ^ 0x55;
        return copy;
      });
      for (const [at, { status, json }] of (await postAll(route, corrupted)).entries()) {
        expect(status, `byte ${at} corrupted`).toBeLessThan(500);
        expect(json, `byte ${at} corrupted`).toBeTypeOf('object');
      }
      expect((await get(api.url, '/healthz')).status).toBe(200);
    },
  );

  it('the 70-byte request of the report is a 400 invalid_request', async () => {
    const body = Buffer.from(`--x\r\nContent-Disposition: form-data; name="image"\r\n\r\nA`);
    for (const route of ['/jobs', '/predict', '/batches']) {
      const { status, json } = await post(route, body);
      expect(status).toBe(400);
      expect(JSON.stringify(json)).toContain('invalid_request');
    }
  });
});
