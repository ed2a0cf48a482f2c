import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { AppError } from '../../errors.js';
import { limitUploadIdle } from '../uploads/upload-idle-timeout.js';

/**
 * A JSON body of at most `limit` bytes, parsed with `schema`; every problem is a 400 naming the
 * field (`input.image: …`, `input: unrecognized key "auth"`), never echoing a value. A client that
 * sends nothing for `idleTimeoutMs` is cut off, as an upload is (UPLOAD_IDLE_TIMEOUT_MS).
 */
export async function readJsonBody<T>(
  ctx: Context,
  limit: number,
  idleTimeoutMs: number,
  schema: z.ZodType<T>,
): Promise<T> {
  if (!ctx.is('json')) throw new AppError('invalid_request', 'send the body as JSON (Content-Type: application/json)');
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit, encoding: 'utf8' }).finally(limitUploadIdle(ctx.req, idleTimeoutMs));
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large')
      throw new AppError('payload_too_large', `the body exceeds the limit of ${limit} bytes`);
    throw new AppError('invalid_request', 'the body could not be read');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'the JSON body does not parse');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new AppError('invalid_request', problems.join('; '));
  }
  return parsed.data;
}
