import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { glob } from 'tinyglobby';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { outputMismatches, serviceBlocks, type ServiceBlock } from '../support/readme-blocks.js';

const run = promisify(execFile);

/**
 * Every `sh service` block of the README and docs/ (the convention: test/support/readme-blocks.ts),
 * run as written against an in-process service with the real model, one service per distinct
 * `npm start` line. A pasted command that fails, names a file nobody has, or prints another shape
 * or top-1 label than the document shows fails here.
 */
const files = ['README.md', ...(await glob('docs/**/*.md', { cwd: projectRoot }))].sort();
const blocks: ServiceBlock[] = [];
for (const file of files) blocks.push(...serviceBlocks(file, await readFile(path.join(projectRoot, file), 'utf8')));

/** The variables an `npm start` line sets, as bash evaluates them (`$(openssl rand ...)` included). */
async function startVariables(startEnv: string): Promise<Record<string, string>> {
  if (!startEnv) return {};
  const names = [...startEnv.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]!);
  const { stdout } = await run('bash', ['-c', `${startEnv} node -p 'JSON.stringify(process.env)'`], {
    cwd: projectRoot,
  });
  const all = JSON.parse(stdout) as Record<string, string>;
  return Object.fromEntries(names.map((name) => [name, all[name]!]));
}

const services = new Map<string, Promise<{ api: InProcessApi; env: Record<string, string> }>>();
function serviceFor(startEnv: string) {
  let service = services.get(startEnv);
  if (!service) {
    service = (async () => {
      const env = await startVariables(startEnv);
      const api = await startInProcessApi(testConfig(inject('redisUrl'), env));
      await api.startWorker();
      return { api, env };
    })();
    services.set(startEnv, service);
  }
  return service;
}

afterAll(async () => {
  for (const service of services.values()) await (await service).api.close();
});

describe('the README and docs/ commands that talk to the service', () => {
  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(blocks.map((block) => [block.where, block] as const))('%s', async (_where, block) => {
    const { api, env } = await serviceFor(block.startEnv);
    const marker = (i: number) => `@@readme-command-${i}@@`;
    const script = [
      'set -euo pipefail',
      ...block.commands.flatMap(({ command }, i) => [
        `printf '\\n${marker(i)}\\n'`,
        command.replaceAll('http://localhost:5000', api.url),
      ]),
    ].join('\n');
    const result = await run('bash', ['-c', script], {
      cwd: projectRoot,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], CLASSIFY_URL: api.url, ...env },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${block.where}: a command failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    block.commands.forEach(({ command, expected }, i) => {
      const start = result.stdout.indexOf(marker(i)) + marker(i).length;
      const end = i + 1 < block.commands.length ? result.stdout.indexOf(marker(i + 1)) : result.stdout.length;
      const actual = result.stdout.slice(start, end).trim();
      expect(outputMismatches(expected, actual), `${command}\nprinted:\n${actual}`).toEqual([]);
    });
  });
});
