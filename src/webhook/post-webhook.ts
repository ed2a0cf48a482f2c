import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { WebhookTarget } from './address-guard.js';

/** A delivery the receiver did not accept (any non-2xx answer): it is retried. */
export class WebhookDeliveryError extends Error {
  override name = 'WebhookDeliveryError';
}

/**
 * POSTs one delivery to the checked address only: the connection's DNS lookup is replaced by the
 * address resolveWebhookTarget approved, while the Host header and TLS name (SNI, certificate
 * check) stay the URL's host. Redirects are not followed (a 3xx is a failed delivery), since a
 * redirect could point anywhere. Resolves with the status of a 2xx answer.
 */
export function postWebhook(
  target: WebhookTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<number> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const request = target.url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(target.url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'resnet-queue-webhooks' },
      lookup: pinned,
      timeout: timeoutMs,
    });
    req.once('timeout', () => req.destroy(new WebhookDeliveryError(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err) =>
      reject(err instanceof WebhookDeliveryError ? err : new WebhookDeliveryError(err.message)),
    );
    req.once('response', (res) => {
      // The answer's body is not needed; reading it frees the socket.
      res.resume();
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(status);
        else reject(new WebhookDeliveryError(`the receiver answered ${status}`));
      });
      res.once('error', (err) => reject(new WebhookDeliveryError(err.message)));
    });
    req.end(body);
  });
}
