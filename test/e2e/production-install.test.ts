import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { glob } from 'tinyglobby';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { freePort } from '../../src/redis-server.js';
import { image, postImage } from '../support/http.js';
import { sharedDir } from '../support/paths.js';
import { spawnIn, stopChild, waitForReady } from '../support/service.js';

const run = promisify(execFile);

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/** `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/**
 * What the Docker image does, without Docker (which cannot run here): its prod-deps stage runs
 * `npm ci --omit=dev` on package.json + package-lock.json in a clean directory, and its runtime
 * stage adds dist/, assets/, public/ and package.json. A runtime package that the lockfile marks
 * dev-only (protobufjs once was) is missing from that install, and the service dies at start.
 */
describe('production install (the Docker image, without Docker)', () => {
  let root: string;
  let app: string;

  beforeAll(async () => {
    // `app` beside a `shared` link, as a checkout sits beside ../shared: the default MODEL_DIR applies.
    root = await mkdtemp(path.join(os.tmpdir(), 'resnet-queue-prod-'));
    app = path.join(root, 'app');
    await mkdir(app);
    await symlink(sharedDir, path.join(root, 'shared'));
    for (const file of ['package.json', 'package-lock.json'])
      await cp(path.join(projectRoot, file), path.join(app, file));
    // The registry is reached only for what the npm cache lacks (CI has just run `npm ci`).
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      maxBuffer: 16 * 1024 * 1024,
    });
    // dist/ is the global setup's build, from the same sources the image's build stage compiles.
    for (const dir of ['dist', 'assets', 'public']) {
      await cp(path.join(projectRoot, dir), path.join(app, dir), { recursive: true });
    }
  }, 300_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('every package dist/ imports is a dependency, and resolves inside the production install', async () => {
    const pkg = JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8')) as PackageJson;
    // Listed in both, npm records the package as dev-only in the lockfile, and --omit=dev leaves it out.
    const inBoth = Object.keys(pkg.dependencies).filter((name) => name in pkg.devDependencies);
    expect(inBoth).toEqual([]);

    const specifiers = new Set<string>();
    for (const file of await glob('dist/**/*.js', { cwd: app, absolute: true })) {
      // TypeScript's scanner finds static and dynamic imports, not import-like text inside strings.
      const { importedFiles } = ts.preProcessFile(await readFile(file, 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        if (!fileName.startsWith('.') && !isBuiltin(fileName)) specifiers.add(fileName);
      }
    }
    expect(specifiers.size).toBeGreaterThan(10);
    const notDependencies = [...specifiers].filter((s) => !(packageOf(s) in pkg.dependencies));
    expect(notDependencies).toEqual([]);

    // Resolved the way the service resolves them: from a module inside dist/ of the clean copy.
    const probe = path.join(app, 'dist', `resolve-probe-${randomUUID().slice(0, 8)}.js`);
    await writeFile(
      probe,
      `const out = {};
for (const s of ${JSON.stringify([...specifiers])}) {
  try { out[s] = import.meta.resolve(s); } catch (err) { out[s] = 'unresolved: ' + err.message; }
}
process.stdout.write(JSON.stringify(out));`,
    );
    const { stdout } = await run(process.execPath, [probe], { cwd: app });
    await rm(probe);
    const resolved = JSON.parse(stdout) as Record<string, string>;
    const outside = Object.entries(resolved).filter(([, url]) => !url.startsWith(`file://${app}/node_modules/`));
    expect(outside).toEqual([]);
  });

  it('node dist/main.js starts from it with ../shared and classifies a photo', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { child, output } = spawnIn(app, path.join(app, 'dist/main.js'), {
      NODE_ENV: 'production',
      REDIS_URL: inject('redisUrl'),
      PORT: String(port),
      HOST: '127.0.0.1',
      QUEUE_NAME: `prod-${randomUUID().slice(0, 8)}`,
    });
    try {
      await waitForReady(url, child, output);
      const res = await postImage(url, await image('eagle.jpg'), { route: '/predict' });
      expect(res.status, output()).toBe(200);
      expect((res.body as unknown as { predictions: { label: string }[] }).predictions[0]!.label).toBe('bald_eagle');
      await expect.poll(() => output()).toMatch(/model resnet50-v1\.5-int8/);
    } finally {
      expect(await stopChild(child)).toBe(0);
    }
  });
});
