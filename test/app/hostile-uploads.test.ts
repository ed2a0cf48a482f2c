/**
 * Uploads that stall, abandon or route around the limits (issue 21): batches are admitted like
 * single uploads (F2), an upload whose client goes quiet is cut off and frees its slot (F8), and a
 * batch whose client disconnects ends at once, its stored crops deleted and the request logged (F5).
 */
import net from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyPrefix } from '../../src/queue/keys.js';
import { postImage, type ErrorBody } from '../support/http.js';
import { captureLogs, startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { until } from '../support/wait.js';

let api: InProcessApi;
let png: Buffer;
const logs = captureLogs();
const boundary = 'hostile';

beforeAll(async () => {
  api = await startInProcessApi(
    testConfig(inject('redisUrl'), {
      MAX_CONCURRENT_UPLOADS: '2',
      UPLOAD_IDLE_TIMEOUT_MS: '1000',
      WORKER_GRACE_SECONDS: '3600',
      LOG_LEVEL: 'info',
    }),
    { logs: logs.destination },
  );
  png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
});
afterAll(async () => {
  await api?.close();
});

const imagePart = (name: string) =>
  Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${name}"\r\n\r\n`),
    png,
    Buffer.from('\r\n'),
  ]);

/**
 * Opens a raw connection that sends the headers of a `declared`-byte multipart upload and then
 * `body`, and nothing more. Resolves with the socket once the server has read the headers.
 */
async function stalledUpload(
  route: string,
  body: Buffer,
  declared: number,
  requestId = '',
  contentType = `multipart/form-data; boundary=${boundary}`,
): Promise<net.Socket> {
  const { port } = new URL(api.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume();
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST ${route} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${declared}\r\nX-Request-Id: ${requestId || 'stalled'}\r\n\r\n`,
  );
  socket.write(body);
  return socket;
}

const closed = (socket: net.Socket) =>
  socket.closed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()));

describe('uploads that stall or route around the limits', () => {
  it('a stalled batch holds an upload slot as a single upload does; idle uploads are cut off and free it', async () => {
    const { admission } = api.deps.uploads;
    const single = await stalledUpload('/jobs', imagePart('a.png').subarray(0, 100), 2048);
    const batch = await stalledUpload('/batches', imagePart('b.png'), 4096);
    // A byte every 100 ms keeps both alive (they are slow, not idle) until the checks are done.
    const drip = setInterval(() => [single, batch].forEach((socket) => socket.write('x')), 100);
    // F2: the batch counts against MAX_CONCURRENT_UPLOADS too.
    await until('both stalled uploads admitted', () => admission.inFlight.uploads === 2);
    for (const route of ['/jobs', '/batches']) {
      const refused = await postImage<ErrorBody>(api.url, png, { route });
      expect(refused.status, route).toBe(503);
      expect(refused.body.error.code).toBe('unavailable');
    }
    // F8: once they go quiet, UPLOAD_IDLE_TIMEOUT_MS later both are dropped and their room is free again.
    clearInterval(drip);
    await Promise.all([closed(single), closed(batch)]);
    await until('admission released', () => admission.inFlight.uploads === 0);
    expect((await postImage(api.url, png)).status).toBe(202);
    expect((await postImage(api.url, png, { route: '/batches' })).status).toBe(202);
  });

  it('the drop-in doors (/v1 predictions and files, /v2 infer) cut off idle bodies and free their slots', async () => {
    const { admission } = api.deps.uploads;
    const model = api.deps.models.defaultModel.name;
    const pairs: [string, Buffer, string][][] = [
      [
        ['/v1/predictions', Buffer.from('{"input":'), 'application/json'],
        [`/v2/models/${model}/infer`, Buffer.from('{"inputs":'), 'application/json'],
      ],
      [['/v1/files', imagePart('c.png').subarray(0, 100), `multipart/form-data; boundary=${boundary}`]],
    ];
    for (const pair of pairs) {
      const sockets = await Promise.all(
        pair.map(([route, body, type]) => stalledUpload(route, body, 4096, route, type)),
      );
      await until(`${pair.length} stalled drop-in bodies admitted`, () => admission.inFlight.uploads === pair.length);
      await Promise.all(sockets.map(closed));
      await until('admission released', () => admission.inFlight.uploads === 0);
    }
  });

  it('a batch whose client disconnects ends at once: its crops are deleted and the request is logged', async () => {
    const store = api.deps.models.defaultModel.store;
    const inputs = async () => (await api.deps.redis.keys(`${keyPrefix}:${store.queueName}:input:*`)).length;
    const before = await inputs();
    const parts = Buffer.concat([imagePart('1.png'), imagePart('2.png'), imagePart('3.png')]);
    const partial = imagePart('4.png').subarray(0, 120);
    const socket = await stalledUpload('/batches', Buffer.concat([parts, partial]), 1_000_000, 'abandoned-batch');
    await until('three crops stored', async () => (await inputs()) === before + 3);
    socket.destroy();
    const logged = /"reqId":"abandoned-batch".*"path":"\/batches","status":400/;
    await until('the aborted batch logged', () => logged.test(logs.text()));
    expect(await inputs()).toBe(before);
  });
});
