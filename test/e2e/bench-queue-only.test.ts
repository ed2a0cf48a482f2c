import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { outputDir } from '../support/paths.js';

describe('npm run bench -- --queue-only', () => {
  it('runs the queue-capacity benchmark to completion on a tiny job count and reports every figure', async () => {
    const out = path.join(outputDir, 'queue-capacity-quick.json');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(projectRoot, 'bench/main.ts'), '--queue-only', '--quick', '--out', out],
      {
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code, text).toBe(0);
    expect(text).toMatch(/\| workers \| APIs \| jobs\/s/);
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
