import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { challenges, isAuthorized, hasCredentials, type Credentials } from '../credentials.js';
import { errorTable, type ErrorBody, type ErrorCode } from '../errors.js';
import { renderMetrics } from '../render-metrics.js';

export interface MetricsServerOptions {
  port: number;
  host: string;
  registry: Registry;
  /** Who may scrape; empty: anyone. */
  credentials: Credentials;
}

export interface RunningMetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's only HTTP surface: GET /metrics, with the API's credential check and JSON error
 * shape. Plain node:http, since there is one route and nothing else a framework would do.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const challenge = challenges(options.credentials, 'metrics');
  const fail = (res: http.ServerResponse, code: ErrorCode, message: string, headers: Record<string, string> = {}) => {
    const body: ErrorBody = { error: { code, message } };
    res
      .writeHead(errorTable[code].status, { 'content-type': 'application/json; charset=utf-8', ...headers })
      .end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (path !== '/metrics') return fail(res, 'not_found', `no route for ${req.method} ${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return fail(res, 'method_not_allowed', 'use GET', { Allow: 'GET, HEAD' });
    if (hasCredentials(options.credentials) && !isAuthorized(req.headers.authorization, options.credentials)) {
      return fail(res, 'unauthorized', 'metrics needs credentials (see WWW-Authenticate)', {
        'WWW-Authenticate': challenge,
      });
    }
    renderMetrics(options.registry).then(
      ({ contentType, body }) =>
        res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      () => fail(res, 'internal', errorTable.internal.description),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
