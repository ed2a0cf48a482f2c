import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { WebhookTarget } from './address-guard.js';

/** A delivery the receiver did not accept (any non-2xx answer): it is retried. */
export class WebhookDeliveryError extends Error {
  override name = 'WebhookDeliveryError';
}

/**
 * Most bytes of a receiver's answer read, bytes: the answer is only drained (its status decides),
 * so a receiver that streams forever costs at most this much.
 */
export const maxAnswerBytes = 64 * 1024;

/**
 * POSTs one delivery to the checked address only: the connection's DNS lookup is replaced by the
 * address resolveWebhookTarget approved, while the Host header and TLS name (SNI, certificate
 * check) stay the URL's host. Redirects are not followed (a 3xx is a failed delivery), since a
 * redirect could point anywhere. Resolves with the status of a 2xx answer.
 *
 * `timeoutMs` is the whole attempt's deadline, from connecting to the end of the answer, not an
 * idle gap: a receiver that trickles its answer a byte at a time cannot hold a dispatcher slot
 * longer. The attempt settles as soon as the status line arrives; the answer's body is then
 * drained (up to `maxAnswerBytes`, within the same deadline) and the connection dropped.
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
    });
    const deadline = setTimeout(
      () => req.destroy(new WebhookDeliveryError(`no complete answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.once('close', () => clearTimeout(deadline));
    req.once('error', (err) =>
      reject(err instanceof WebhookDeliveryError ? err : new WebhookDeliveryError(err.message)),
    );
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) resolve(status);
      else reject(new WebhookDeliveryError(`the receiver answered ${status}`));
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > maxAnswerBytes) req.destroy();
      });
      // Settled already: an answer cut off by the deadline or the cap changes nothing.
      res.on('error', () => undefined);
      res.once('end', () => clearTimeout(deadline));
    });
    req.end(body);
  });
}
