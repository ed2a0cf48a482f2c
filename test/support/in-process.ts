import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createApp } from '../../src/api/app.js';
import type { ApiDeps } from '../../src/api/deps.js';
import { connectApiDeps } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

export interface InProcessApi {
  url: string;
  config: Config;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** The config of an in-process test: its own queue on the harness's Redis, quiet logs. */
export function testConfig(redisUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({ REDIS_URL: redisUrl, QUEUE_NAME: `app-${randomUUID().slice(0, 8)}`, LOG_LEVEL: 'silent', ...env });
}

/** createApp(deps) served on a free loopback port of this process: no child process, real Redis. */
export async function startInProcessApi(config: Config): Promise<InProcessApi> {
  const connected = await connectApiDeps(config, createLogger(config.logLevel, 'test-api'));
  const handle = createApp(connected.deps).callback();
  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    deps: connected.deps,
    close: async () => {
      connected.deps.waiter.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await connected.close();
    },
  };
}
