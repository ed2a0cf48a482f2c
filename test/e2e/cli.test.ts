import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, constants, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runClassify } from '../../src/cli/classify.js';
import { projectRoot } from '../../src/config.js';
import { freePort } from '../../src/redis-server.js';
import { imagesDir } from '../support/paths.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `classify` command as installed: package.json's bin shim over dist/ (test/support/global-build.ts). */
const classifyBin = path.join(projectRoot, 'bin/classify.js');

async function classify(...args: string[]): Promise<CliRun> {
  return classifyWithEnv({}, ...args);
}

async function classifyWithEnv(env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, [classifyBin, ...args], {
    cwd: projectRoot,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

const coffee = path.join(imagesDir, 'coffee.png');
const orange = path.join(imagesDir, 'orange.jpg');

/** The service in this process (API and a real worker); the CLI is the program under test. */
let service: InProcessApi;
let scratch: string;
beforeAll(async () => {
  service = await startInProcessApi(testConfig(inject('redisUrl')));
  await service.startWorker();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'classify-cli-'));
});
afterAll(async () => {
  await service?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('classify against the running service', () => {
  it('prints a top-5 table per image and exits 0', async () => {
    const run = await classify(coffee, orange, '--url', service.url);
    expect(run.code, run.stderr).toBe(0);
    const blocks = run.stdout.trim().split('\n\n');
    expect(blocks).toHaveLength(2);
    const [coffeeBlock, orangeBlock] = blocks.map((b) => b.split('\n'));
    expect(coffeeBlock![0]).toBe(coffee);
    expect(coffeeBlock!.slice(1)).toHaveLength(5);
    expect(coffeeBlock![1]).toMatch(/^ {3}1 {2}espresso +\d{2}\.\d\d%$/);
    expect(orangeBlock![0]).toBe(orange);
    expect(orangeBlock![1]).toMatch(/^ {3}1 {2}orange +\d{2}\.\d\d%$/);
    expect(run.stderr).toBe('');
  });

  it('--json prints one valid JSON array in argument order', async () => {
    const run = await classify('--json', coffee, '--url', service.url);
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as {
      file: string;
      id: string;
      status: string;
      predictions: { label: string; probability: number }[];
    }[];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ file: coffee, status: 'completed' });
    expect(results[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(results[0]!.predictions).toHaveLength(5);
    expect(results[0]!.predictions[0]!.label).toBe('espresso');
  });

  it('exits 2 for a non-image or a missing file, still classifying the good one', async () => {
    const notes = path.join(scratch, 'notes.txt');
    await writeFile(notes, 'plain text, not a picture');
    const missing = path.join(scratch, 'missing.png');
    const run = await classify(coffee, notes, missing, '--url', service.url, '--json');
    expect(run.code).toBe(2);
    const results = JSON.parse(run.stdout) as { file: string; status: string; error?: { code: string } }[];
    expect(results.map((r) => [r.status, r.error?.code])).toEqual([
      ['completed', undefined],
      ['not_submitted', 'invalid_image'],
      ['not_submitted', 'unreadable_file'],
    ]);
    expect(run.stderr).toContain(`classify: ${notes}: invalid_image: `);
    expect(run.stderr).toContain(`classify: ${missing}: unreadable_file: cannot read ${missing}: no such file`);
  });

  it('expands glob patterns (sorted) and counts the results on a progress line', async () => {
    const out: string[] = [];
    const progress: string[] = [];
    const io = {
      out: (t: string) => void out.push(t),
      err: (t: string) => void out.push(t),
      progress: (t: string) => void progress.push(t),
    };
    const code = await runClassify([path.join(imagesDir, '*.jpg'), '--url', service.url, '--json'], io);
    expect(code, out.join('')).toBe(0);
    const results = JSON.parse(out.join('')) as { file: string; predictions: { label: string }[] }[];
    expect(results.map((r) => path.basename(r.file))).toEqual(['baboon.jpg', 'eagle.jpg', 'orange.jpg']);
    expect(results.map((r) => r.predictions[0]!.label)).toEqual(['baboon', 'bald_eagle', 'orange']);
    expect(progress.slice(0, -1)).toEqual([
      '\rclassify: 0/3 done',
      '\rclassify: 1/3 done',
      '\rclassify: 2/3 done',
      '\rclassify: 3/3 done',
    ]);
    expect(progress.at(-1)).toBe('\r\x1b[2K');
  });

  it('--batch sends every image in one POST /batches, shows progress, and keeps argument order', async () => {
    const notes = path.join(scratch, 'batch-notes.txt');
    await writeFile(notes, 'plain text, not a picture');
    const missing = path.join(scratch, 'batch-missing.png');
    const run = await classify('--batch', '--json', coffee, notes, missing, orange, '--url', service.url);
    expect(run.code).toBe(2);
    const results = JSON.parse(run.stdout) as {
      file: string;
      id?: string;
      status: string;
      error?: { code: string };
      predictions?: { label: string }[];
    }[];
    expect(results.map((r) => [r.file, r.status, r.error?.code])).toEqual([
      [coffee, 'completed', undefined],
      [notes, 'failed', 'invalid_image'],
      [missing, 'not_submitted', 'unreadable_file'],
      [orange, 'completed', undefined],
    ]);
    expect(results[0]!.predictions![0]!.label).toBe('espresso');
    expect(results[3]!.predictions![0]!.label).toBe('orange');
    // Not a terminal: one progress line per step, the last one complete.
    expect(run.stderr).toMatch(/classify: batch [0-9a-f-]{36}: 3\/3 images \(1 failed\), done\n/);
    expect(run.stderr).toContain(`classify: ${notes}: invalid_image: `);
  });

  it('exits 3 when the service cannot be reached', async () => {
    const port = await freePort();
    const run = await classify(coffee, '--url', `http://127.0.0.1:${port}`);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(new RegExp(`unreachable: cannot reach http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    expect(run.stdout).toBe('');
  });

  it('exits 2 with the usage for bad arguments', async () => {
    for (const args of [[], [coffee, '--wait', 'soon'], [coffee, '--url', 'ftp://x'], [coffee, '--nope']]) {
      const run = await classify(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('usage: classify IMAGE...');
    }
  });
});

describe('classify against a service that never finishes or fails', () => {
  let stub: http.Server;
  let stubUrl: string;
  let mode: 'queued' | 'unavailable' | 'unauthorized' = 'queued';
  const id = '00000000-0000-4000-8000-000000000001';
  /** What the stub saw: each request, the long-poll timeout it asked for, and whether it got the answer. */
  let seen: { method: string; path: string; timeout: string | null; authorization: string; answered: boolean }[] = [];
  const queued = {
    id,
    status: 'queued',
    createdAt: new Date().toISOString(),
    links: { self: `/jobs/${id}`, wait: `/jobs/${id}/wait` },
  };
  beforeAll(async () => {
    // Stands in for an overloaded deployment: accepts every job, finishes none, or answers 503.
    stub = http.createServer((req, res) => {
      req.resume();
      const target = new URL(req.url!, 'http://x');
      const request = {
        method: req.method!,
        path: target.pathname,
        timeout: target.searchParams.get('timeout'),
        authorization: req.headers.authorization ?? '(none)',
        answered: false,
      };
      seen.push(request);
      res.once('finish', () => (request.answered = true));
      if (mode === 'unauthorized') {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'unauthorized', message: 'an API key is required' } }));
        return;
      }
      if (mode === 'unavailable') {
        res
          .writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' })
          .end(JSON.stringify({ error: { code: 'unavailable', message: 'the job store is unavailable' } }));
        return;
      }
      // Like the real long-poll: the view comes back when the requested timeout runs out.
      const timer = setTimeout(
        () => res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify(queued)),
        Number(request.timeout ?? 0) * 1000,
      );
      res.once('close', () => clearTimeout(timer));
    });
    stub.listen(0, '127.0.0.1');
    await once(stub, 'listening');
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => stub.close(() => resolve())));

  it('exits 4 once --wait runs out, naming the job to fetch later', async () => {
    mode = 'queued';
    seen = [];
    const run = await classify(coffee, '--url', stubUrl, '--wait', '1.5');
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`timeout: job ${id} still queued after 1.5 s; it goes on at ${stubUrl}/jobs/${id}`);
    // One submission, then long-polls that ask only for what is left of --wait, and each is waited out.
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/jobs', answered: true });
    const polls = seen.slice(1);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    for (const poll of polls) expect(poll).toMatchObject({ method: 'GET', path: `/jobs/${id}/wait`, answered: true });
    const timeouts = polls.map((p) => Number(p.timeout));
    for (const [i, timeout] of timeouts.entries()) {
      expect(timeout).toBeGreaterThanOrEqual(0);
      expect(timeout).toBeLessThanOrEqual(i === 0 ? 1.5 : timeouts[i - 1]!);
    }
  });

  it('sends --api-key, else CLASSIFY_API_KEY, as a bearer token on every call', async () => {
    mode = 'queued';
    seen = [];
    await classifyWithEnv({ CLASSIFY_API_KEY: 'from-the-environment' }, coffee, '--url', stubUrl, '--wait', '0.5');
    expect(new Set(seen.map((r) => r.authorization))).toEqual(new Set(['Bearer from-the-environment']));
    expect(seen.length).toBeGreaterThanOrEqual(2);
    seen = [];
    await classifyWithEnv(
      { CLASSIFY_API_KEY: 'from-the-environment' },
      coffee,
      '--url',
      stubUrl,
      '--wait',
      '0.5',
      '--api-key',
      'from-the-flag',
    );
    expect(new Set(seen.map((r) => r.authorization))).toEqual(new Set(['Bearer from-the-flag']));
  });

  it('takes the service from CLASSIFY_URL, and a 401 names --api-key', async () => {
    mode = 'unauthorized';
    seen = [];
    const run = await classifyWithEnv({ CLASSIFY_URL: stubUrl }, coffee);
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /jobs']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unauthorized: an API key is required (pass --api-key KEY, or set CLASSIFY_API_KEY)');
  });

  it('exits 3 on a 5xx, reporting it at once rather than retrying after Retry-After', async () => {
    mode = 'unavailable';
    seen = [];
    const run = await classify(coffee, '--url', stubUrl);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('unavailable: the job store is unavailable');
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /jobs']);
  });
});

describe('packaging', () => {
  it('package.json "bin" names an executable shim that loads the compiled CLI entry', async () => {
    const pkg = JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    const shim = path.join(projectRoot, pkg.bin['classify']!);
    await access(shim, constants.X_OK);
    const text = await readFile(shim, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    // tsc maps src/X.ts to dist/X.js (rootDir src, outDir dist), so the shim's target must have a source.
    const target = /new URL\('\.\.\/dist\/(.+)\.js', import\.meta\.url\)/.exec(text)?.[1];
    expect(target).toBeDefined();
    await access(path.join(projectRoot, 'src', `${target}.ts`));
  });
});
