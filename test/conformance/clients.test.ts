/**
 * Real client programs, run as subprocesses against one service, each uploading the same photo the
 * way its users do, to POST /predict and to POST /jobs (then the long-poll): every one must get the
 * photo's top-1 label. The table of results is printed at the end. The programs are what is under
 * test; the service runs in this process (API and a real worker), since its own processes are
 * covered by test/e2e. The file stays in the process tier: it runs three dozen client programs at
 * once (Python interpreters, Node, the CLI, Chromium), which the 2-core machine can
 * take only without another file beside them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { chromiumPath, launchChromium, reportMissingChromium } from '../support/chromium.js';
import { imagesDir } from '../support/paths.js';
import { debianPython, ensurePythonClients } from '../support/python-clients.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { narrate } from '../support/narrate.js';

const run = promisify(execFile);
const photo = path.join(imagesDir, 'eagle.jpg');
const expected = 'bald_eagle';
const clientsDir = path.join(projectRoot, 'test/conformance/clients');

type Route = '/predict' | '/jobs';

reportMissingChromium('conformance: the web page');

let service: InProcessApi;
beforeAll(async () => {
  ensurePythonClients();
  service = await startInProcessApi(testConfig(inject('redisUrl')));
  await service.startWorker();
});
const results = new Map<string, Partial<Record<Route, string>>>();
afterAll(async () => {
  const rows = [...results].map(([client, r]) => `| ${client} | ${r['/predict'] ?? '—'} | ${r['/jobs'] ?? '—'} |`);
  narrate(`\n| client | /predict | /jobs (+ wait) |\n| --- | --- | --- |\n${rows.join('\n')}\n`);
  await service?.close();
});

/** A program's last output line: the label it printed, or its "HTTP <status> <body>". */
async function lastLine(file: string, args: string[]): Promise<string> {
  const { stdout } = await run(file, args, { timeout: 90_000, maxBuffer: 1 << 20 });
  return stdout.trim().split('\n').at(-1) ?? '';
}

/** curl's answer, then for /jobs the long-poll through curl too; the top-1 label or what went wrong. */
async function curl(route: Route, args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '-X', 'POST', ...args, `${service.url}${route}`], { timeout: 90_000 });
  let body = JSON.parse(stdout) as {
    links?: { wait: string };
    status?: string;
    predictions?: { label: string }[];
    result?: { predictions: { label: string }[] };
  };
  while (route === '/jobs' && body.links && body.status !== 'completed' && body.status !== 'failed') {
    body = JSON.parse(
      (await run('curl', ['-sS', `${service.url}${body.links.wait}?timeout=30`])).stdout,
    ) as typeof body;
  }
  return (route === '/jobs' ? body.result?.predictions : body.predictions)?.[0]?.label ?? JSON.stringify(body);
}

const python = (library: string, variant: string) => (route: Route) =>
  lastLine(debianPython, [path.join(clientsDir, 'python_client.py'), library, variant, service.url, route, photo]);

const clients: [string, (route: Route) => Promise<string>][] = [
  ['requests files={"image": bytes} (the tutorial)', python('requests', 'bytes')],
  ['requests files={"image": (name, bytes)}', python('requests', 'name-bytes')],
  ['requests files={"image": (name, bytes, "application/octet-stream")}', python('requests', 'name-bytes-type')],
  ['requests files={"image": open(f, "rb")}', python('requests', 'file')],
  ['requests json={"image": base64}', python('requests', 'json')],
  ['requests json={"instances": [{"b64": …}]} (TF Serving)', python('requests', 'tf-serving')],
  ['httpx files=', python('httpx', 'name-bytes-type')],
  ['aiohttp data={"image": file}', python('aiohttp', 'file')],
  ['curl -F image=@f', (route) => curl(route, ['-F', `image=@${photo}`])],
  [
    'curl -F "image=@f;type=application/octet-stream"',
    (route) => curl(route, ['-F', `image=@${photo};type=application/octet-stream`]),
  ],
  [
    'curl --data-binary @f -H "Content-Type: image/jpeg"',
    (route) => curl(route, ['--data-binary', `@${photo}`, '-H', 'Content-Type: image/jpeg']),
  ],
  [
    'curl --data-binary @f -H "Content-Type: application/octet-stream"',
    (route) => curl(route, ['--data-binary', `@${photo}`, '-H', 'Content-Type: application/octet-stream']),
  ],
  [
    'curl --data-binary @f -H "Content-Type:" (no type)',
    (route) => curl(route, ['--data-binary', `@${photo}`, '-H', 'Content-Type:']),
  ],
  [
    'curl -T f -H "Transfer-Encoding: chunked"',
    (route) => curl(route, ['-T', photo, '-H', 'Transfer-Encoding: chunked']),
  ],
  ['curl -F image=@f -H "Expect:" (off)', (route) => curl(route, ['-F', `image=@${photo}`, '-H', 'Expect:'])],
  [
    'curl -F image=@f -H "Expect: 100-continue" (on)',
    (route) => curl(route, ['-F', `image=@${photo}`, '-H', 'Expect: 100-continue']),
  ],
  [
    'Node fetch + FormData + Blob',
    (route) => lastLine(process.execPath, [path.join(clientsDir, 'node_client.js'), service.url, route, photo]),
  ],
];

describe.concurrent('real clients get the photo classified', () => {
  for (const [name, client] of clients) {
    for (const route of ['/predict', '/jobs'] as const) {
      it(`${name} -> ${route}`, async () => {
        const label = await client(route);
        results.set(name, { ...results.get(name), [route]: label === expected ? `${label} ✓` : label });
        expect(label).toBe(expected);
      });
    }
  }

  it('the classify CLI -> /jobs', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(projectRoot, 'bin/classify.js'), '--json', '--url', service.url, photo],
      {
        cwd: projectRoot,
        timeout: 90_000,
      },
    );
    const [entry] = JSON.parse(stdout) as { predictions?: { label: string }[] }[];
    const label = entry?.predictions?.[0]?.label ?? stdout;
    results.set('the classify CLI (`--json`)', { '/jobs': label === expected ? `${label} ✓` : label });
    expect(label).toBe(expected);
  });

  it.skipIf(!chromiumPath)('the web page in Chromium -> /jobs', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${service.url}/`);
      await page.setInputFiles('#file', photo);
      await page.waitForSelector('#results:not([hidden])');
      // The page shows labels with spaces for underscores.
      const label = ((await page.locator('#results li:first-child > span:first-child').textContent()) ?? '').replaceAll(
        ' ',
        '_',
      );
      results.set('the web page (Chromium)', { '/jobs': label === expected ? `${label} ✓` : label });
      expect(label).toBe(expected);
    } finally {
      await browser.close();
    }
  });
});
