import type { IncomingMessage } from 'node:http';
import type { BusboyFileStream } from '@fastify/busboy';
import { AppError } from '../../errors.js';
import { openMultipart, stopReading } from './multipart-body.js';

export interface BatchUploadLimits {
  /** Largest image part, bytes; a larger part fails its own entry only. */
  maxUploadBytes: number;
  /** Most `image` parts; one more refuses the whole batch. */
  maxImages: number;
}

/** One `image` part: its bytes, or why they were not read. */
export interface BatchPart {
  /** Position among the image parts, from 0. */
  index: number;
  filename: string;
  bytes?: Buffer;
  error?: AppError;
}

/** Most text fields (`topk`, `priority`, `webhook`…) and their size; they are small. */
const fieldLimits = { fields: 20, fieldSize: 8192 };

async function collect(stream: BusboyFileStream, maxBytes: number): Promise<Pick<BatchPart, 'bytes' | 'error'>> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  if (stream.truncated)
    return { error: new AppError('payload_too_large', `the image exceeds the limit of ${maxBytes} bytes`) };
  return { bytes: Buffer.concat(chunks) };
}

/**
 * Reads a multipart body part by part and hands each `image` part to `onPart` in upload order,
 * one at a time: the next part is not read from the socket until `onPart` has settled (the
 * parser's backpressure holds the request), so memory holds one image whatever the batch size.
 * `onPart` also sees the text fields that came before its part (`model` must, to preprocess).
 * Resolves with the text fields once the body has ended. Part-level problems (a part over
 * MAX_UPLOAD_BYTES) reach `onPart` as its error; body-level ones (too many images, a malformed
 * body, an `onPart` failure) reject, and the rest of the body is discarded.
 */
export function readBatchUpload(
  req: IncomingMessage,
  limits: BatchUploadLimits,
  onPart: (part: BatchPart, fieldsSoFar: Readonly<Record<string, string>>) => Promise<void>,
): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  let index = 0;
  let chain = Promise.resolve();
  let failed = false;
  /** Part streams not yet read to their end: a failure ends them, so the part in hand settles. */
  const unfinished = new Set<BusboyFileStream>();
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      stopReading(req);
      for (const stream of unfinished) stream.destroy();
      // Reject only once the part in hand has settled, so a caller cleaning up after the failure
      // sees every input that part stored.
      void chain.finally(() => reject(err instanceof Error ? err : new Error(String(err))));
    };
    // A Content-Type without a boundary throws here, which rejects this promise.
    const parser = openMultipart(
      req,
      {
        // Every `image` part is an image, with or without a filename; other parts are text fields.
        isPartAFile: (name) => name === 'image',
        limits: {
          ...fieldLimits,
          fileSize: limits.maxUploadBytes,
          files: limits.maxImages,
          parts: limits.maxImages + fieldLimits.fields,
        },
      },
      fail,
    );
    parser.on('file', (_name, stream, filename) => {
      if (failed) {
        stream.resume();
        return;
      }
      const part = { index: index++, filename: (filename || `image-${index}`).slice(0, 255) };
      unfinished.add(stream);
      stream.once('close', () => unfinished.delete(stream));
      chain = chain
        .then(async () => {
          if (failed) return void stream.resume();
          await onPart({ ...part, ...(await collect(stream, limits.maxUploadBytes)) }, fields);
        })
        .catch(fail);
    });
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('filesLimit', () =>
      fail(new AppError('payload_too_large', `a batch holds at most ${limits.maxImages} images`)),
    );
    parser.on('fieldsLimit', () => fail(new AppError('invalid_request', `at most ${fieldLimits.fields} text fields`)));
    parser.on('partsLimit', () =>
      fail(new AppError('payload_too_large', `a batch holds at most ${limits.maxImages} images`)),
    );
    parser.on('finish', () => {
      void chain.then(() => {
        if (failed) return;
        if (index === 0) fail(new AppError('missing_image', 'no file in any multipart field "image"'));
        else resolve(fields);
      });
    });
    req.pipe(parser);
  });
}
