import { AppError } from '../../errors.js';
import { ImageJsonSchema, InstancesJsonSchema } from '../wire.js';

/** Longest JSON body whose decoded image can fit `maxUploadBytes`: base64's 4/3, plus room for the wrapping. */
export function maxJsonBytes(maxUploadBytes: number): number {
  return Math.ceil(maxUploadBytes / 3) * 4 + 64 * 1024;
}

const base64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * The image bytes of a JSON body, and the properties among `fieldNames` beside it (submission
 * options such as `priority`); the size limit applies to the decoded bytes.
 */
export function decodeJsonImage(
  text: string,
  maxUploadBytes: number,
  fieldNames: readonly string[] = [],
): { image: Buffer; fields: Record<string, unknown> } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'the JSON body does not parse');
  }
  const fields: Record<string, unknown> = {};
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const rest = { ...(body as Record<string, unknown>) };
    for (const name of fieldNames) {
      if (name in rest) fields[name] = rest[name];
      delete rest[name];
    }
    body = rest;
  }
  const schema =
    body !== null && typeof body === 'object' && 'instances' in body ? InstancesJsonSchema : ImageJsonSchema;
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new AppError(
      'invalid_request',
      `the JSON body must be {"image": "<base64>"} or {"instances": [{"b64": "<base64>"}]}; ${where}${issue.message}`,
    );
  }
  const encoded = 'image' in parsed.data ? parsed.data.image : parsed.data.instances[0]!.b64;
  return { image: decodeBase64Image(encoded, maxUploadBytes, 'the image in the JSON body'), fields };
}

/**
 * The bytes of a base64 image (a `data:…;base64,` prefix allowed), refused before decoding when
 * they would exceed `maxUploadBytes`; `what` names it in the 400.
 */
export function decodeBase64Image(encoded: string, maxUploadBytes: number, what: string): Buffer {
  const payload = encoded.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
  if (!base64.test(payload) || payload.length % 4 === 1)
    throw new AppError('invalid_request', `${what} is not valid base64`);
  if (Math.floor((payload.length * 3) / 4) - (payload.match(/=+$/)?.[0].length ?? 0) > maxUploadBytes) {
    throw new AppError('payload_too_large', `the decoded image exceeds the limit of ${maxUploadBytes} bytes`);
  }
  return Buffer.from(payload, 'base64');
}
