import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError } from '../errors.js';

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

async function collect(
  stream: Readable & { truncated?: boolean },
  maxBytes: number,
): Promise<Pick<BatchPart, 'bytes' | 'error'>> {
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
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: {
        ...fieldLimits,
        fileSize: limits.maxUploadBytes,
        files: limits.maxImages,
        parts: limits.maxImages + fieldLimits.fields,
      },
    });
  } catch {
    return Promise.reject(
      new AppError('invalid_request', 'send a multipart/form-data body with one "image" part per image'),
    );
  }
  const fields: Record<string, string> = {};
  let index = 0;
  let chain = Promise.resolve();
  let failed = false;
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      // Reject only once the part in hand has settled, so a caller cleaning up after the failure
      // sees every input that part stored.
      void chain.finally(() => reject(err instanceof Error ? err : new Error(String(err))));
    };
    parser.on('file', (name, stream, info) => {
      if (name !== 'image' || failed) {
        stream.resume();
        return;
      }
      const part = { index: index++, filename: (info.filename || `image-${index}`).slice(0, 255) };
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
    parser.on('error', () => fail(new AppError('invalid_request', 'the multipart body is malformed or ended early')));
    parser.on('close', () => {
      void chain.then(() => {
        if (failed) return;
        if (index === 0) fail(new AppError('missing_image', 'no file in any multipart field "image"'));
        else resolve(fields);
      });
    });
    req.pipe(parser);
  });
}
