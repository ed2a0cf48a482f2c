import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, type ErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';
import { deferContinue } from './expect-continue.js';

/** Node's parser errors that mean "headers too large" (the limit is --max-http-header-size, 16 KiB). */
const headerOverflow = new Set(['HPE_HEADER_OVERFLOW']);

/**
 * A request Node's parser rejected before Koa saw it: answered with the same JSON error shape
 * as everything else (Node's default is a bare status line), then the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, log: Logger): void {
  // A client that went away, or a socket already answering: nothing to say to anyone.
  if (err.code === 'ECONNRESET' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || !socket.writable) {
    socket.destroy();
    return;
  }
  const error = headerOverflow.has(err.code ?? '')
    ? new AppError('headers_too_large', 'the request headers exceed 16 KiB')
    : new AppError('invalid_request', 'the request is not valid HTTP/1.1');
  log.info({ code: err.code }, 'refused a malformed request');
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/**
 * The HTTP server around the app's handler: parse errors answer JSON (431 for oversized
 * headers), and `Expect: 100-continue` is answered only when a handler reads the body, so an
 * upload refused from its headers is never sent.
 */
export function createHttpServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  log: Logger,
): http.Server {
  const server = http.createServer((req, res) => void handle(req, res));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    deferContinue(res);
    void handle(req, res);
  });
  // Any other expectation (`Expect: 200-ok`): 417 as RFC 9110 says, but JSON (Node's own has no body).
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const error = new AppError(
      'expectation_failed',
      `Expect: ${req.headers.expect ?? ''} is not supported; only Expect: 100-continue is`,
    );
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    res.writeHead(error.status, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
    res.end(JSON.stringify(body));
    log.info({ expect: req.headers.expect }, 'refused an unsupported Expect header');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, log));
  return server;
}
