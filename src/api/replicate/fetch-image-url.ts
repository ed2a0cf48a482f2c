import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { AppError } from '../../errors.js';
import { resolveWebhookTarget, WebhookRefusedError } from '../../webhook/address-guard.js';

export interface UrlFetchLimits {
  /** Hosts exempt from the address check (WEBHOOK_ALLOW_HOSTS); they may use plain http. */
  allowHosts: readonly string[];
  /** Largest body, bytes (MAX_UPLOAD_BYTES). */
  maxBytes: number;
  /** The whole fetch, connection to last byte, ms (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
}

const refused = (why: string) => new AppError('invalid_request', `input.image: ${why}`);

/**
 * GETs an image named by URL, as the webhook address guard allows: https to public addresses
 * (or a host of WEBHOOK_ALLOW_HOSTS), connecting to the very address that passed the check (no
 * DNS rebinding in between), no redirects (one could point anywhere), at most `maxBytes` and
 * `timeoutMs`. Every refusal is a 4xx naming why.
 */
export async function fetchImageUrl(raw: string, limits: UrlFetchLimits): Promise<Buffer> {
  let target;
  try {
    target = await resolveWebhookTarget(raw, limits.allowHosts);
  } catch (err) {
    if (err instanceof WebhookRefusedError) throw refused(`the URL ${err.message}`);
    throw err;
  }
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const request = target.url.protocol === 'https:' ? https.request : http.request;
  return new Promise<Buffer>((resolve, reject) => {
    const req = request(target.url, {
      method: 'GET',
      headers: { 'user-agent': 'resnet-queue', accept: 'image/*' },
      lookup: pinned,
    });
    const timer = setTimeout(
      () => req.destroy(refused(`the URL gave no complete answer within ${limits.timeoutMs} ms`)),
      limits.timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err instanceof AppError ? err : refused(`the URL could not be fetched (${err.message})`));
    };
    req.once('error', fail);
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        const redirect = status >= 300 && status < 400 ? '; redirects are not followed' : '';
        req.destroy(refused(`the URL answered ${status}${redirect}`));
        return;
      }
      const tooLarge = new AppError(
        'payload_too_large',
        `input.image: the URL's body exceeds ${limits.maxBytes} bytes`,
      );
      if (Number(res.headers['content-length'] ?? 0) > limits.maxBytes) {
        req.destroy(tooLarge);
        return;
      }
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length > limits.maxBytes) req.destroy(tooLarge);
        else chunks.push(chunk);
      });
      res.once('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
      res.once('error', fail);
    });
    req.end();
  });
}
