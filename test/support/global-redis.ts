import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServer } from '../../src/redis-server.js';

let server: RedisServer | undefined;

/** One real redis-server for the whole run, on a free port; each test uses its own queue name. */
export async function setup(project: TestProject): Promise<void> {
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
