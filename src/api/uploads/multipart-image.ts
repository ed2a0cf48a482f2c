import type { IncomingMessage } from 'node:http';
import { AppError, uploadTooLarge } from '../../errors.js';
import { multipartOverheadBytes, openMultipart, stopReading } from './multipart-body.js';

/** The field real clients (the Flask tutorial, curl -F, the web page) put the image in. */
export const imageField = 'image';
const defaultImageField = imageField;
/** Parts beyond this answer 400 without being read further; a form needs one. */
const maxParts = 16;

/** Longest value of a text field beside the image (`priority`, `webhook`), bytes. */
const maxFieldBytes = 4096;

/** The image and the text fields the caller allowed beside it. */
export interface MultipartUpload {
  image: Buffer;
  fields: Record<string, string>;
}

/**
 * The bytes of the one multipart part named `image` (or `imageField`). Every part counts as a file whatever its
 * headers: Python requests' `files={"image": bytes}` sends no filename and no Content-Type, and
 * the bytes decide what the image is. The whole body is read (other parts are counted, not kept)
 * so the 400 can name every problem: no `image` part, several, or extra fields.
 */
export function readMultipartImage(
  req: IncomingMessage,
  maxUploadBytes: number,
  fieldNames: readonly string[] = [],
  /** The part holding the image (`content` for Replicate's /v1/files). */
  imageField = defaultImageField,
): Promise<MultipartUpload> {
  return new Promise((resolve, reject) => {
    let images = 0;
    const chunks: Buffer[] = [];
    const others: string[] = [];
    const fields: Record<string, string> = {};
    // Non-image parts are drained, not kept; this bounds the body as a whole all the same.
    const maxBodyBytes = maxUploadBytes + multipartOverheadBytes;
    let bodyBytes = 0;
    let settled = false;
    const fail = (err: AppError) => {
      if (settled) return;
      settled = true;
      stopReading(req);
      reject(err);
    };
    // A Content-Type without a boundary throws here, which rejects this promise.
    const parser = openMultipart(
      req,
      { isPartAFile: () => true, limits: { fileSize: maxUploadBytes, parts: maxParts, headerPairs: 32 } },
      fail,
    );
    const onData = (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (bodyBytes > maxBodyBytes) fail(uploadTooLarge(maxUploadBytes));
    };
    req.on('data', onData);
    parser.on('file', (name, stream) => {
      if (fieldNames.includes(name) && !(name in fields)) {
        const parts: Buffer[] = [];
        let length = 0;
        fields[name] = '';
        stream.on('data', (chunk: Buffer) => {
          length += chunk.length;
          if (length > maxFieldBytes)
            fail(
              new AppError('invalid_request', `the multipart field "${name}" is longer than ${maxFieldBytes} bytes`),
            );
          else parts.push(chunk);
        });
        stream.on('end', () => (fields[name] = Buffer.concat(parts).toString('utf8')));
        return;
      }
      if (name !== imageField || ++images > 1) {
        if (name !== imageField) others.push(name || '(unnamed)');
        stream.resume();
        return;
      }
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(uploadTooLarge(maxUploadBytes)));
    });
    parser.on('partsLimit', () =>
      fail(
        new AppError(
          'invalid_request',
          `the multipart body has more than ${maxParts} parts; send one, the field "${imageField}"`,
        ),
      ),
    );
    parser.on('finish', () => {
      req.off('data', onData);
      if (settled) return;
      const named = (list: string[]) => [...new Set(list)].map((n) => `"${n}"`).join(', ');
      if (images === 0 && others.length > 0) {
        fail(
          new AppError(
            'missing_image',
            `no multipart field "${imageField}" (got ${named(others)}): send the image in the field "${imageField}"`,
          ),
        );
      } else if (images === 0) {
        fail(
          new AppError('missing_image', `the multipart body has no parts: send the image in the field "${imageField}"`),
        );
      } else if (images > 1) {
        fail(
          new AppError(
            'invalid_request',
            `${images} files in the field "${imageField}": send exactly one image per request`,
          ),
        );
      } else if (others.length > 0) {
        const allowed = [imageField, ...fieldNames].map((n) => `"${n}"`).join(', ');
        fail(
          new AppError(
            'invalid_request',
            `unexpected multipart field(s) ${named(others)}: the fields accepted here are ${allowed}`,
          ),
        );
      } else {
        settled = true;
        resolve({ image: Buffer.concat(chunks), fields });
      }
    });
    req.pipe(parser);
  });
}
