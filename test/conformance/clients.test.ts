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
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
/** The table's columns: the two native routes, and the drop-in front doors (/v1 Replicate, /v2 Open Inference). */
type Column = Route | 'drop-in';

reportMissingChromium('conformance: the web page');

let service: InProcessApi;
beforeAll(async () => {
  ensurePythonClients();
  service = await startInProcessApi(testConfig(inject('redisUrl')));
  await service.startWorker();
});
const results = new Map<string, Partial<Record<Column, string>>>();
afterAll(async () => {
  const cell = (r: Partial<Record<Column, string>>, c: Column) => r[c] ?? '—';
  const rows = [...results].map(
    ([client, r]) => `| ${client} | ${cell(r, '/predict')} | ${cell(r, '/jobs')} | ${cell(r, 'drop-in')} |`,
  );
  narrate(
    `\n| client | /predict | /jobs (+ wait) | drop-in (/v1, /v2) |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`,
  );
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

/** A request of the binary tensor extension: the JSON, then one BYTES element (length, file). */
async function v2BytesBody(dir: string): Promise<{ file: string; headerLength: number }> {
  const photoBytes = await readFile(photo);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'input', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: photoBytes.length + 4 } },
      ],
      outputs: [{ name: 'output', parameters: { classification: 1 } }],
    }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(photoBytes.length);
  const file = path.join(dir, 'v2-request.bin');
  await writeFile(file, Buffer.concat([header, length, photoBytes]));
  return { file, headerLength: header.length };
}

describe.concurrent('the drop-in front doors from real clients', () => {
  const model = () => service.deps.models.defaultModel.name;
  const record = (name: string, label: string) =>
    results.set(name, { 'drop-in': label === expected ? `${label} ✓` : label });

  const sdkInputs = { buffer: 'a Buffer (via /v1/files)', 'data-uri': 'a data URI' } as const;
  for (const how of ['buffer', 'data-uri'] as const) {
    const name = `replicate SDK run(local/<model>), image as ${sdkInputs[how]}`;
    it(`${name} -> /v1`, async () => {
      const label = await lastLine(process.execPath, [
        path.join(clientsDir, 'replicate_client.js'),
        service.url,
        model(),
        photo,
        how,
      ]);
      record(name, label);
      expect(label).toBe(expected);
    });
  }

  it('curl, v2 binary tensor extension (BYTES image, classification 1) -> /v2', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'v2-'));
    try {
      const { file, headerLength } = await v2BytesBody(dir);
      const { stdout } = await run('curl', [
        '-sS',
        '-X',
        'POST',
        '--data-binary',
        `@${file}`,
        '-H',
        'Content-Type: application/octet-stream',
        '-H',
        `Inference-Header-Content-Length: ${headerLength}`,
        `${service.url}/v2/models/${model()}/infer`,
      ]);
      const reply = JSON.parse(stdout) as { outputs?: { data: string[] }[] };
      const label = reply.outputs?.[0]?.data[0]?.split(':')[2] ?? stdout;
      record('curl --data-binary (v2 binary extension, BYTES image)', label);
      expect(label).toBe(expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
