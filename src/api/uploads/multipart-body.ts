import type { IncomingMessage } from 'node:http';
import { Busboy, type BusboyConfig, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { AppError } from '../../errors.js';

/** What a multipart body may carry beyond its images: boundaries, part headers and text fields. */
export const multipartOverheadBytes = 64 * 1024;

/** The one way a multipart body breaks for the client: cut off, corrupted, or abandoned. */
export type MultipartBroken = (err: AppError) => void;

/**
 * A multipart parser over the request (the one parser of single uploads and batches), with every
 * way the body can break reported once through `onBroken` instead of thrown: a malformed or
 * cut-off body (the parser's 'error' and each part stream's: a part stream's 'error' without a
 * listener would end the process), and a client that closes the connection before its body is
 * complete. The caller pipes the request into the parser once its own listeners are in place,
 * and stops reading with `stopReading` when it gives up.
 */
export function openMultipart(
  req: IncomingMessage,
  config: Omit<BusboyConfig, 'headers'>,
  onBroken: MultipartBroken,
): BusboyInstance {
  let parser: BusboyInstance;
  try {
    parser = Busboy({ ...config, headers: req.headers as BusboyHeaders });
  } catch {
    throw new AppError('invalid_request', 'the multipart body has no boundary in its Content-Type');
  }
  const malformed = () => onBroken(new AppError('invalid_request', 'the multipart body is malformed or ended early'));
  parser.on('error', malformed);
  // Registered before the caller's 'file' listener, so no part stream is ever without one.
  parser.on('file', (_name, stream) => stream.on('error', malformed));
  req.once('close', () => {
    if (!req.complete)
      onBroken(new AppError('invalid_request', 'the client closed the connection before the upload was complete'));
  });
  return parser;
}

/** Stops feeding the parser; the rest of the body is left to the caller to drain or cut off. */
export function stopReading(req: IncomingMessage): void {
  req.unpipe();
  req.resume();
}
