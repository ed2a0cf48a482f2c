import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { createApp } from '../../src/api/app.js';
import type { ApiDeps } from '../../src/api/deps.js';
import { connectApiDeps, type ConnectedDeps } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { keyPrefix } from '../../src/queue/keys.js';
import { connectRedis } from '../../src/redis.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';

export interface InProcessApi {
  url: string;
  config: Config;
  deps: ApiDeps;
  connected: ConnectedDeps;
  /** Starts a real worker (the real model) in this process, on the same queue. */
  startWorker(): Promise<RunningWorker>;
  /** Closes the workers started, the server and the connections, then removes the test's queues. */
  close(): Promise<void>;
}

/** The config of an in-process test: its own queue on the harness's Redis, quiet logs, one inference thread. */
export function testConfig(redisUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL: redisUrl,
    QUEUE_NAME: `app-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'silent',
    INTRA_OP_THREADS: '1',
    ...env,
  });
}

/**
 * The in-process tier: createApp over real dependencies (the harness's Redis, a queue of its own)
 * served on a loopback port, and workers in the same process when a test wants them.
 */
export async function startInProcessApi(config: Config): Promise<InProcessApi> {
  const log = createLogger(config.logLevel, 'test');
  const connected = await connectApiDeps(config, log);
  const handle = createApp(connected.deps).callback();
  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workers: RunningWorker[] = [];
  return {
    url,
    config,
    deps: connected.deps,
    connected,
    async startWorker() {
      const worker = await startWorker(config, log);
      workers.push(worker);
      return worker;
    },
    async close() {
      for (const worker of workers) await worker.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connected.close();
      // A test that stopped its Redis has nothing left to clean (and a client would retry forever).
      const redis = connectRedis(config.redis!, 'blocking');
      const alive = await Promise.race([
        redis.ping().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false)),
      ]);
      if (alive) {
        const names = [
          ...connected.deps.models.models.map((m) => m.store.queueName),
          `${config.queueName}-batches`,
          `${config.queueName}-webhooks`,
        ];
        for (const name of names) {
          const queue = new Queue(name, { connection: redis, prefix: keyPrefix });
          await queue.obliterate({ force: true }).catch(() => undefined);
          await queue.close();
        }
      }
      redis.disconnect();
    },
  };
}
