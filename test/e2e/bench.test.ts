import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { outputDir } from '../support/paths.js';

describe('npm run bench', () => {
  it('runs to completion on a tiny request count and writes every measurement', async () => {
    const out = path.join(outputDir, 'bench-quick.json');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/run.ts'), '--quick', '--out', out], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code, text).toBe(0);
    expect(text).toMatch(/Target\s+measured/);
    const results = JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown> & {
      engine: { rows: { imagesPerSecond: number }[] };
      saturated: { imagesPerSecond: number; errors: number }[];
      footprint: { kibPerJob: number };
      targets: Record<string, { value: number }>;
    };
    expect(results.engine.rows.every((r) => r.imagesPerSecond > 0)).toBe(true);
    expect(results.saturated.every((s) => s.imagesPerSecond > 0 && s.errors === 0)).toBe(true);
    expect(results.footprint.kibPerJob).toBeGreaterThan(10);
    expect(Object.keys(results.targets)).toEqual(
      expect.arrayContaining(['throughputRatio', 'lightLoadOverheadMs', 'meanBatchAtTopLoad', 'p99OverFullBatch', 'redisKibPerJob', 'apiLoopDelayP99Ms']),
    );
    for (const key of ['drain', 'light', 'apiEventLoopDelayMs', 'cpuMsPerImageAtTopLoad']) expect(results).toHaveProperty(key);
  });
});
