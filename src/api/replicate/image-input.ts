import { AppError } from '../../errors.js';
import { decodeBase64Image } from '../uploads/json-image.js';
import { fetchImageUrl, type UrlFetchLimits } from './fetch-image-url.js';
import type { FileStore } from './file-store.js';

/** Where an `input.image` came from, as a prediction shows it back (never the bytes or the URL itself). */
export interface ImageInput {
  bytes: Buffer;
  from: string;
}

/** The path of a file's `urls.get` (and its download form). */
const filePath = /^\/v1\/files\/([0-9a-f-]{36})(?:\/download)?$/;

/**
 * The image bytes an `input.image` names: a base64 data URI; one of our own file URLs (this
 * origin's /v1/files/{id}), read from the file store as the caller, never over HTTP; or another
 * http(s) URL, fetched through the webhook address guard within the upload limits.
 */
export async function readImageInput(
  image: string,
  context: { origin: string; owner: string | undefined; files: FileStore; fetch: UrlFetchLimits },
): Promise<ImageInput> {
  if (/^data:/i.test(image)) {
    if (!/^data:[^,]*;base64,/i.test(image))
      throw new AppError('invalid_request', 'input.image: a data URI must be base64 (`data:image/jpeg;base64,…`)');
    return { bytes: decodeBase64Image(image, context.fetch.maxBytes, 'input.image'), from: 'a data URI' };
  }
  let url: URL;
  try {
    url = new URL(image);
  } catch {
    throw new AppError(
      'invalid_request',
      'input.image: send a data URI, the urls.get of a file from POST /v1/files, or an http(s) URL',
    );
  }
  const file = url.origin === context.origin ? filePath.exec(url.pathname) : null;
  if (file) {
    const bytes = await context.files.content(file[1]!, context.owner);
    if (!bytes)
      throw new AppError('invalid_request', `input.image: no file ${file[1]} (unknown, expired, deleted or not yours)`);
    return { bytes, from: `file ${file[1]}` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new AppError('invalid_request', `input.image: ${url.protocol} URLs are not fetched; send http(s)`);
  return { bytes: await fetchImageUrl(image, context.fetch), from: `a URL on ${url.host}` };
}
