import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedRequest {
  range: string | undefined;
  status: number;
}

export interface ModelServer {
  /** URL of the served file. */
  url: string;
  /** Every request so far, in order. */
  requests: ServedRequest[];
  /** Misbehaviour, changed by the tests between calls. */
  behaviour: {
    /** Cut the connection of the next response after this many body bytes (once). */
    cutAfterBytes?: number;
    /** Answer 200 with the whole file even when a Range is asked for. */
    ignoreRange?: boolean;
  };
  close(): Promise<void>;
}

/** A real HTTP server on loopback serving one file, with Range support as a CDN would answer it. */
export async function startModelServer(file: string): Promise<ModelServer> {
  const size = (await stat(file)).size;
  const requests: ServedRequest[] = [];
  const behaviour: ModelServer['behaviour'] = {};
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    const match = /^bytes=(\d+)-$/.exec(range ?? '');
    const start = match && !behaviour.ignoreRange ? Number(match[1]) : 0;
    if (start >= size && start > 0) {
      requests.push({ range, status: 416 });
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const status = start > 0 ? 206 : 200;
    requests.push({ range, status });
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': String(size - start),
      'accept-ranges': 'bytes',
      ...(status === 206 ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}),
    });
    const cut = behaviour.cutAfterBytes;
    behaviour.cutAfterBytes = undefined;
    if (cut === undefined) {
      createReadStream(file, { start }).pipe(res);
      return;
    }
    // Headers promise the whole file; the socket dies part-way, as on a dropped connection.
    createReadStream(file, { start, end: start + cut - 1 })
      .on('end', () => setTimeout(() => res.destroy(), 20))
      .pipe(res, { end: false });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/models/resnet50.onnx`,
    requests,
    behaviour,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
