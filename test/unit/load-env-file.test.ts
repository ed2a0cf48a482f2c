import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.js';

/** Runs what the npm scripts run (`node --import load-env-file …`) in `cwd`, printing the parsed config. */
function configIn(cwd: string, env: Record<string, string> = {}): { config: Record<string, unknown>; stderr: string } {
  const configModule = JSON.stringify(path.join(projectRoot, 'src/config.ts'));
  const script = `const { loadConfig } = await import(${configModule}); console.log(JSON.stringify(loadConfig()));`;
  // tsx by path: `--import tsx` would be resolved from the (temporary) working directory.
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      path.join(projectRoot, 'node_modules/tsx/dist/loader.mjs'),
      '--import',
      path.join(projectRoot, 'src/load-env-file.ts'),
      '--input-type=module',
      '-e',
      script,
    ],
    {
      cwd,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
      encoding: 'utf8',
    },
  );
  if (run.status !== 0) throw new Error(run.stderr);
  return { config: JSON.parse(run.stdout) as Record<string, unknown>, stderr: run.stderr };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'env-file-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('.env in the working directory', () => {
  it('is read at start, and variables already in the environment win', async () => {
    await writeFile(
      path.join(dir, '.env'),
      'PORT=6123\nLOG_LEVEL=warn\nDASHBOARD_PASSWORD="a long passphrase"\nDASHBOARD_USER=ops\n',
    );
    const { config } = configIn(dir, { LOG_LEVEL: 'debug' });
    expect(config).toMatchObject({
      http: { port: 6123 },
      telemetry: { logLevel: 'debug' },
      operators: { dashboardCredentials: { basic: { user: 'ops', password: 'a long passphrase' } } },
    });
  });

  it('is optional: without one, nothing is read and nothing is said', async () => {
    // Whether or not the test that writes one ran first (the order may be shuffled).
    await rm(path.join(dir, '.env'), { force: true });
    const { config, stderr } = configIn(dir);
    expect(config).toMatchObject({ http: { port: 5000 }, telemetry: { logLevel: 'info' } });
    expect(stderr).toBe('');
  });

  it('is preloaded by every npm script that starts the service, which builds only when sources changed', async () => {
    const pkg = JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['start', 'api', 'worker'])
      expect(pkg.scripts[name], name).toContain('node --import ./dist/load-env-file.js dist/');
    expect(pkg.scripts['dev']).toMatch(/^tsx watch .*--import \.\/src\/load-env-file\.ts src\/main\.ts$/);
    expect(pkg.scripts['build']).toBe('tsc -b tsconfig.build.json');
    expect(pkg.scripts['prestart']).toBe('npm run build --silent');
  });
});
