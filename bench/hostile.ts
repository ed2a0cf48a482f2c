/**
 * `npm run bench:hostile`: the two hostile-upload attacks of issue 9 against the service started as
 * for the bench (one API process, one worker), printing API RSS, /healthz and /readyz latency and whether a
 * normal client's small photo still gets through. Targets: API RSS <= 600 MB, /healthz p99 <= 100 ms,
 * /readyz p99 <= 200 ms.
 *   1. decode bomb: 24 concurrent uploads of a 7000x7000 WebP (~100 KB, under every limit);
 *   2. slowloris: 60 uploads declaring 10 MiB - 1 byte, 9.5 MiB sent, then held open;
 *   3. issue 21's cases through /batches and with a full Redis (bench/hostile-batches.ts).
 * Not a test: the figures depend on the machine. Exit code 1 when a target is missed.
 *   --env K=V   extra service environment (repeatable), to compare settings
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { slowUpload } from './slow-upload.js';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { hostileBatchCases } from './hostile-batches.js';
import { sharedImages, submitImage } from './shared-images.js';
import { loopDelay, rssBytes, startBenchService } from './service.js';
import { percentile, round } from './stats.js';

const { values: args } = parseArgs({ options: { env: { type: 'string', multiple: true, default: [] } } });
const env = Object.fromEntries(args.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const log = (line: string) => process.stderr.write(`hostile: ${line}\n`);
const mib = (bytes: number) => round(bytes / 2 ** 20);

/**
 * One probe path polled every 20 ms from a process of its own, so the latencies are the API's and
 * not this process's, busy sending the attack. Prints one latency (ms) per line.
 */
const probeSource = `
const url = process.argv[1];
for (;;) {
  const started = performance.now();
  await fetch(url).then((r) => r.arrayBuffer(), () => undefined);
  process.stdout.write((performance.now() - started).toFixed(2) + '\\n');
  await new Promise((r) => setTimeout(r, 20));
}`;

/** Polls `path` as an orchestrator would (see probeSource); resolves with its latencies, ms, once stopped. */
function probe(url: string, path: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', probeSource, `${url}${path}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let probed = '';
  child.stdout.on('data', (d: Buffer) => (probed += d.toString()));
  return async () => {
    child.kill();
    await once(child, 'exit');
    return probed
      .trim()
      .split('\n')
      .map(Number)
      .filter((n) => Number.isFinite(n));
  };
}

/**
 * Samples API RSS, the probes' latencies (/healthz p99 <= 100 ms and /readyz p99 <= 200 ms, so a
 * 1 s probe timeout is far away) and the API's event-loop delay until stopped: the figures of one attack.
 */
function observe(url: string, api: ChildProcess) {
  let peakRss = 0;
  let running = true;
  const rssLoop = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, await rssBytes(api.pid!).catch(() => 0));
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const health = probe(url, '/healthz');
  const ready = probe(url, '/readyz');
  const loopBefore = loopDelay(api);
  return async () => {
    running = false;
    const [healthMs, readyMs] = await Promise.all([health(), ready(), rssLoop, loopBefore]);
    const loop = await loopDelay(api);
    return {
      peakRssMiB: mib(peakRss),
      healthzP99Ms: round(percentile(healthMs, 99)),
      healthzMaxMs: round(Math.max(...healthMs)),
      healthzSamples: healthMs.length,
      readyzP99Ms: round(percentile(readyMs, 99)),
      readyzMaxMs: round(Math.max(...readyMs)),
      readyzSamples: readyMs.length,
      apiLoopDelayP99Ms: round(loop.p99),
    };
  };
}

/**
 * A normal client's requests during the attack, with a small photo: POST /jobs (the front door
 * alone: upload, decode, enqueue) and POST /predict (also waits its turn in the queue, behind
 * the attacker's accepted jobs).
 */
async function smallPhoto(url: string, photo: Buffer): Promise<string> {
  const post = async (route: string) => {
    const started = performance.now();
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(photo)]), 'photo.jpg');
    const res = await fetch(`${url}${route}`, { method: 'POST', body: form }).catch((err: Error) => err);
    if (res instanceof Error) return `${route} failed: ${res.message}`;
    const body = (await res.json().catch(() => ({}))) as { predictions?: { label: string }[] };
    const seconds = round((performance.now() - started) / 1000, 2);
    return `${res.status} ${body.predictions?.[0]?.label ?? ''} in ${seconds} s`.replace('  ', ' ');
  };
  const [jobs, predict] = await Promise.all([post('/jobs'), post('/predict')]);
  return `${predict} (/predict); ${jobs} (/jobs)`;
}

const count = (statuses: (number | string)[]) =>
  Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((t) => t === s).length]));

async function decodeBomb(url: string, api: ChildProcess, photo: Buffer) {
  // Noise compresses badly; a smooth gradient keeps the file small while the decoder still has to fill 49 Mpx.
  const side = 7000;
  const bomb = await sharp({ create: { width: side, height: side, channels: 3, background: '#3a6' } })
    .composite([
      {
        input: await sharp({ create: { width: 64, height: 64, channels: 3, background: '#a36' } })
          .png()
          .toBuffer(),
        tile: true,
        blend: 'soft-light',
      },
    ])
    .webp({ quality: 10 })
    .toBuffer();
  log(`decode bomb: ${side}x${side} WebP of ${round(bomb.length / 1024)} KB, 24 at once`);
  const stop = observe(url, api);
  const normal = (async () => {
    await new Promise((r) => setTimeout(r, 200));
    return smallPhoto(url, photo);
  })();
  const started = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: 24 }, () =>
      submitImage(url, bomb).then(
        async (r) => (await r.arrayBuffer(), r.status),
        (e: Error) => e.message,
      ),
    ),
  );
  const seconds = round((performance.now() - started) / 1000, 2);
  const smallPhotoResult = await normal;
  return { ...(await stop()), uploads: count(statuses), allAnsweredInS: seconds, smallPhoto: smallPhotoResult };
}

async function slowloris(url: string, api: ChildProcess, photo: Buffer) {
  const declared = 10 * 2 ** 20 - 1;
  log('slow uploads: 60 declaring 10 MiB, 9.5 MiB sent, held open for 8 s');
  const stop = observe(url, api);
  const held = new AbortController();
  const uploads = Array.from({ length: 60 }, () =>
    slowUpload(new URL(url), { path: '/jobs', contentType: 'image/jpeg' }, declared, 9.5 * 2 ** 20, held.signal),
  );
  await new Promise((r) => setTimeout(r, 3000));
  const smallPhotoResult = await smallPhoto(url, photo);
  await new Promise((r) => setTimeout(r, 5000));
  const figures = await stop();
  held.abort();
  return { ...figures, uploads: count(await Promise.all(uploads)), smallPhoto: smallPhotoResult };
}

const photo = await sharp((await sharedImages())[0])
  .resize(640)
  .jpeg()
  .toBuffer();
const service = await startBenchService({ ...env, LOG_LEVEL: 'warn' }, 1);
let bomb: Awaited<ReturnType<typeof decodeBomb>>;
let slow: Awaited<ReturnType<typeof slowloris>>;
try {
  log(`API idle RSS ${mib(await rssBytes(service.api.pid!))} MiB`);
  bomb = await decodeBomb(service.url, service.api, photo);
  log(`decode bomb: ${JSON.stringify(bomb)}`);
  slow = await slowloris(service.url, service.api, photo);
  log(`slow uploads: ${JSON.stringify(slow)}`);
} finally {
  await service.stop();
}
// A fresh API for issue 21's cases: the heap the attacks above grew is not handed back to the
// system, so their peak RSS would otherwise start from where the slow uploads left it.
const batchService = await startBenchService({ ...env, LOG_LEVEL: 'warn' }, 1);
try {
  log(`API idle RSS ${mib(await rssBytes(batchService.api.pid!))} MiB (a fresh one, for the batch cases)`);
  const { ok: batchesOk, ...batches } = await hostileBatchCases(batchService);
  const report = { decodeBomb: bomb, slowUploads: slow, ...batches, env };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const ok =
    batchesOk &&
    [bomb, slow].every(
      (r) => r.peakRssMiB <= 600 && r.healthzP99Ms <= 100 && r.readyzP99Ms <= 200 && r.smallPhoto.startsWith('200'),
    );
  log(
    ok
      ? 'targets met (RSS <= 600 MB, /healthz p99 <= 100 ms, /readyz p99 <= 200 ms, the small photo classified)'
      : 'a target was missed',
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await batchService.stop();
}
