import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { AppError, uploadTooLarge } from '../../errors.js';
import { sendContinue } from '../expect-continue.js';
import { decodeJsonImage, maxJsonBytes } from './json-image.js';
import { multipartOverheadBytes } from './multipart-body.js';
import { imageField, readMultipartImage } from './multipart-image.js';

declare module 'koa' {
  interface Request {
    /**
     * Text fields read beside the image (multipart fields or JSON properties named by the route):
     * set by readImageUpload.
     */
    body?: unknown;
  }
}

/** How the request carries its image, from its Content-Type alone (the bytes decide the format). */
type BodyKind = 'multipart' | 'json' | 'raw';

function bodyKind(ctx: Context): BodyKind {
  if (ctx.is('multipart/form-data')) return 'multipart';
  if (ctx.is('json')) return 'json';
  return 'raw';
}

/**
 * Largest body this request may send, bytes: the limit applies to the image itself, so multipart
 * gets room for its framing and JSON for base64's 4/3.
 */
export function maxBodyBytes(ctx: Context, maxUploadBytes: number): number {
  const kind = bodyKind(ctx);
  if (kind === 'multipart') return maxUploadBytes + multipartOverheadBytes;
  if (kind === 'json') return maxJsonBytes(maxUploadBytes);
  return maxUploadBytes;
}

/** The body's declared size, or undefined for a chunked body (which is counted while it streams). */
export function declaredBodyBytes(ctx: Context): number | undefined {
  const length = ctx.get('content-length');
  return length === '' ? undefined : Number(length);
}

/** A request with neither Content-Length nor Transfer-Encoding has no body at all. */
function hasBody(ctx: Context): boolean {
  return ctx.get('transfer-encoding') !== '' || Number(ctx.get('content-length') || 0) > 0;
}

/**
 * The rest of a body refused before its end is read and dropped, not kept: a client still
 * sending then reads the JSON error instead of a reset connection (closing at once makes its
 * writes fail with EPIPE/ECONNRESET before it reads anything). At most `4 x maxUploadBytes` more
 * is drained; a client that declares or sends more is cut off.
 */
function discardRest(ctx: Context, maxUploadBytes: number): void {
  if (ctx.req.complete) return;
  const budget = 4 * maxUploadBytes;
  if ((declaredBodyBytes(ctx) ?? 0) > budget) ctx.set('Connection', 'close');
  let drained = 0;
  ctx.req.unpipe();
  ctx.req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > budget) ctx.req.socket.destroy();
  });
  ctx.req.resume();
}

async function readRawBody(ctx: Context, limit: number, maxUploadBytes: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: declaredBodyBytes(ctx) });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw uploadTooLarge(maxUploadBytes);
    if (type === 'request.size.invalid')
      throw new AppError('invalid_request', 'the body is shorter or longer than its Content-Length');
    throw new AppError('invalid_request', 'the body could not be read');
  }
}

/**
 * The uploaded image bytes, from any body a real client sends; text fields named in `fieldNames`
 * (multipart fields or JSON properties beside the image) are left in `ctx.request.body`: the
 * multipart field `image` (with or without filename and Content-Type), JSON `{"image": "<base64>"}` or TF Serving's
 * `{"instances": [{"b64": "<base64>"}]}`, or the raw bytes under any Content-Type or none,
 * with a Content-Length or chunked. The upload limit applies to the image's bytes, and a body
 * over it is refused as soon as its Content-Length says so, else while it streams.
 */
export async function readImageUpload(
  ctx: Context,
  maxUploadBytes: number,
  fieldNames: readonly string[] = [],
): Promise<Buffer> {
  const kind = bodyKind(ctx);
  if (!hasBody(ctx) && kind !== 'raw')
    throw new AppError('missing_image', `the ${kind} body is empty: send the image in it`);
  if (!hasBody(ctx) && !ctx.is('image/*', 'application/octet-stream')) {
    throw new AppError(
      'missing_image',
      `no image in the request: send a multipart field "${imageField}", ` +
        'the raw bytes as the body, or JSON {"image": "<base64>"}',
    );
  }
  const limit = maxBodyBytes(ctx, maxUploadBytes);
  if ((declaredBodyBytes(ctx) ?? 0) > limit) {
    discardRest(ctx, maxUploadBytes);
    throw uploadTooLarge(maxUploadBytes);
  }
  sendContinue(ctx.res);
  try {
    if (kind === 'raw') return await readRawBody(ctx, limit, maxUploadBytes);
    const { image, fields } =
      kind === 'multipart'
        ? await readMultipartImage(ctx.req, maxUploadBytes, fieldNames)
        : decodeJsonImage((await readRawBody(ctx, limit, maxUploadBytes)).toString('utf8'), maxUploadBytes, fieldNames);
    ctx.request.body = fields;
    return image;
  } catch (err) {
    discardRest(ctx, maxUploadBytes);
    throw err;
  }
}
