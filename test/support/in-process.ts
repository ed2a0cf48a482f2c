import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { pino, type DestinationStream } from 'pino';
import { createApp } from '../../src/api/app.js';
import { batchQueueName } from '../../src/queue/keys.js';
import type { ApiDeps } from '../../src/api/deps.js';
import { createHttpServer } from '../../src/api/http-server.js';
import { connectApiDeps, type ConnectedDeps } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { keyPrefix } from '../../src/queue/keys.js';
import { connectRedis } from '../../src/redis.js';
import { webhookQueueName } from '../../src/webhook/webhook-queue.js';
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

/** Log lines kept in memory, for tests that assert on what the service logged. */
export interface LogCapture {
  /** Where a logger writes: one JSON line per call. */
  destination: DestinationStream;
  /** Everything written so far, as written. */
  text(): string;
}

export function captureLogs(): LogCapture {
  const written: string[] = [];
  return {
    destination: { write: (line: string) => void written.push(line) },
    text: () => written.join(''),
  };
}

export interface InProcessOptions {
  /** Where the API's and its workers' pino lines go (at config.telemetry.logLevel); stdout by default. */
  logs?: DestinationStream;
}

/**
 * The in-process tier: createApp over real dependencies (the harness's Redis, a queue of its own)
 * served on a loopback port by the service's own HTTP server (JSON answers to parse errors,
 * `Expect: 100-continue` deferred), and workers in the same process when a test wants them.
 */
export async function startInProcessApi(config: Config, options: InProcessOptions = {}): Promise<InProcessApi> {
  const log: Logger = options.logs
    ? pino({ level: config.telemetry.logLevel, base: { role: 'test', pid: process.pid } }, options.logs)
    : createLogger(config.telemetry.logLevel, 'test');
  const connected = await connectApiDeps(config, log);
  const server = createHttpServer(createApp(connected.deps).callback(), log);
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
      const redis = connectRedis(config.redis.target!, 'blocking');
      const alive = await Promise.race([
        redis.ping().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false)),
      ]);
      if (alive) {
        const names = [
          ...connected.deps.models.models.map((m) => m.store.queueName),
          batchQueueName(config.queue.name),
          webhookQueueName(config.queue.name),
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
