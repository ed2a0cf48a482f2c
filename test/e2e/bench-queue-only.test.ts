import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputDir } from '../support/paths.js';
import { runBench } from '../support/run-bench.js';

describe('npm run bench -- --queue-only', () => {
  it('runs the queue-capacity benchmark to completion on a tiny job count and reports every figure', async () => {
    const out = path.join(outputDir, 'queue-capacity-quick.json');
    const { code, output } = await runBench(['--queue-only', '--quick', '--out', out]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/\| workers \| APIs \| jobs\/s/);
    const { rows } = JSON.parse(await readFile(out, 'utf8')) as { rows: Record<string, number>[] };
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row['errors']).toBe(0);
      for (const key of [
        'jobsPerSecond',
        'p99Ms',
        'redisCpuMsPerJob',
        'redisCommandsPerJob',
        'clientCommandsPerJob',
        'redisNetKibPerJob',
      ])
        expect(row[key], key).toBeGreaterThan(0);
    }
  });
});
