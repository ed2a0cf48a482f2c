import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (production-install runs `npm ci`, bench runs the quick bench, the rest
 * start many processes or wait out back-offs), longest first. Vitest orders files by the durations it
 * cached from the last run, but a clean clone (CI) has no cache, and then it starts the largest files
 * first: these small, long files started last and ended the run alone on one worker.
 */
const longFirst = [
  'test/e2e/production-install.test.ts',
  'test/e2e/bench.test.ts',
  'test/faults/sentinel-failover.test.ts',
  'test/app/multipart-fuzz.test.ts',
  'test/e2e/supervisor.test.ts',
  'test/app/readme-commands.test.ts',
  'test/app/pages-in-browser.test.ts',
  'test/e2e/startup-errors.test.ts',
];

/** The long files first, in that order; the others as Vitest orders them. */
class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification): number => {
      const at = longFirst.indexOf(path.relative(spec.project.config.root, spec.moduleId).split(path.sep).join('/'));
      return at === -1 ? longFirst.length : at;
    };
    // Array.prototype.sort is stable: the files outside the list keep Vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * Three test files at a time on 2 cores: most files spend much of their time waiting (on Redis, a
 * child process, a failover), and no test depends on timing or on another file, so the tiers
 * (test/unit, test/integration and test/app in process; test/e2e, test/faults and test/conformance
 * with child processes) share one pool. The global setup builds dist/ once (the process tier runs
 * the compiled service) and starts one Redis; each file uses its own queue names. Files share their
 * worker's module cache (isolate: false): no file relies on a fresh module state, and importing the
 * service, BullMQ, sharp and ONNX Runtime once per worker instead of once per file cut the import
 * phase from 105 s to 19 s and the run from 384 s to 302 s (quiet 2-core machine, one run each).
 */
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-build.ts', 'test/support/global-redis.ts'],
    include: ['test/**/*.test.ts'],
    maxWorkers: 3,
    isolate: false,
    sequence: { sequencer: LongFirstSequencer },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
