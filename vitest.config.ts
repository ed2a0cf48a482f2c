import { defineConfig } from 'vitest/config';

/**
 * Three test files at a time on 2 cores: most files spend much of their time waiting (on Redis, a
 * child process, a failover), and no test depends on timing or on another file, so the tiers
 * (test/unit, test/integration and test/app in process; test/e2e, test/faults and test/conformance
 * with child processes) share one pool. The global setup builds dist/ once (the process tier runs
 * the compiled service) and starts one Redis; each file uses its own queue names.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-build.ts', 'test/support/global-redis.ts'],
    include: ['test/**/*.test.ts'],
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
