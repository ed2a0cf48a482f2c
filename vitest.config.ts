import { defineConfig } from 'vitest/config';

const timeouts = { testTimeout: 120_000, hookTimeout: 120_000 };

/**
 * Two tiers, run side by side. The in-process tier (pure units, the model, and the Koa app through
 * createApp with in-process workers) runs two files at a time; the process tier (entry points,
 * supervision, faults, real client programs) starts child processes that load the model, so its
 * files run one at a time. The global setup (one build, one Redis) runs once for both.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-build.ts', 'test/support/global-redis.ts'],
    projects: [
      {
        test: {
          ...timeouts,
          name: 'in-process',
          include: ['test/{unit,integration,app}/**/*.test.ts'],
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...timeouts,
          name: 'processes',
          include: ['test/{e2e,faults,conformance}/**/*.test.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
