import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { startModelServer, type ModelServer } from '../support/model-server.js';
import { modelDir as sharedModelDir } from '../support/paths.js';

const modelSha256 = 'e3032851b38d32d9e31da41179e588c315fe3a6c50817b61e9456f006bd33cbb';

let server: ModelServer;
let dir: string;
beforeAll(async () => {
  server = await startModelServer(path.join(sharedModelDir, 'model.onnx'));
  dir = await mkdtemp(path.join(os.tmpdir(), 'model-fetch-e2e-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** `npm run model:fetch` minus the build (test/support/global-build.ts did it), output not a terminal. */
async function modelFetch(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist/model/fetch-main.js')], {
    cwd: projectRoot,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('npm run model:fetch', () => {
  it('refuses a wrong checksum with exit 1 and one clear line, installing nothing', async () => {
    const target = path.join(dir, 'wrong');
    const { code, output } = await modelFetch({
      MODEL_DIR: target,
      MODEL_URL: server.url,
      MODEL_SHA256: 'f'.repeat(64),
    });
    expect(code).toBe(1);
    expect(output).toMatch(
      new RegExp(
        String.raw`model:fetch: failed: checksum mismatch for http://127\.0\.0\.1:\d+/models/resnet50\.onnx: ` +
          'got sha256 e3032851',
      ),
    );
    expect(await readdir(target)).toEqual([]);
  });

  it('downloads with plain progress lines when not on a terminal, and exits 0', async () => {
    const target = path.join(dir, 'good');
    const { code, output } = await modelFetch({ MODEL_DIR: target, MODEL_URL: server.url, MODEL_SHA256: modelSha256 });
    expect(code, output).toBe(0);
    const progress = output.split('\n').filter((l) => l.startsWith('model:fetch: downloaded '));
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(progress.length).toBeLessThanOrEqual(11);
    expect(progress.at(-1)).toMatch(/102\.1\/102\.1 MB \(100%\), [\d.]+ MB\/s$/);
    expect(output).not.toContain('\r');
    expect(output).toMatch(/resnet50 is ready in /);
    expect((await readdir(target)).sort()).toEqual(['imagenet_class_index.json', 'manifest.json', 'model.onnx']);
  });
});
