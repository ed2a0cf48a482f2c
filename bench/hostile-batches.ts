/**
 * The hostile cases of issue 21 (F2-F4) for `npm run bench:hostile`, against the bench service:
 *   1. AVIF through /batches: 4 batches at once, each of 5 parts of a 7000x7000 AVIF (refused from
 *      its header) and 5 of a 3500x3500 one (decoded, through the decode slots);
 *   2. 60 stalled /batches uploads, each 9 MiB sent of a declared 10 MiB, held open;
 *   3. a full Redis: maxmemory set 24 MiB above what it holds, the worker paused, single submits
 *      until 503 redis_full, then refused work (200 submits, 4 batches of 200 images) and the
 *      worker resumed: how much Redis grew for refused work, and whether the accepted jobs drained.
 * Each case reports the API's peak RSS (target <= 600 MiB); the full-Redis case Redis's growth for
 * refused work (target <= 10 MiB).
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { slowUpload } from './slow-upload.js';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { rssBytes, type BenchService } from './service.js';
import { round } from './stats.js';

const log = (line: string) => process.stderr.write(`hostile: ${line}\n`);
const mib = (bytes: number) => round(bytes / 2 ** 20);
const count = (statuses: (number | string)[]) =>
  Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((t) => t === s).length]));

/** Samples the API's RSS every 25 ms until the returned function is called; it resolves with the peak, MiB. */
function peakRss(pid: number): () => Promise<number> {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await rssBytes(pid).catch(() => 0));
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return mib(peak);
  };
}

async function postBatch(url: string, images: Buffer[]): Promise<number | string> {
  const form = new FormData();
  images.forEach((bytes, i) => form.append('image', new Blob([new Uint8Array(bytes)]), `${i}.img`));
  return fetch(`${url}/batches`, { method: 'POST', body: form }).then(
    async (r) => (await r.arrayBuffer(), r.status),
    (e: Error) => e.message,
  );
}

async function postJob(url: string, bytes: Buffer): Promise<{ status: number; code?: string; id?: string }> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)]), 'noise.png');
  const res = await fetch(`${url}/jobs`, { method: 'POST', body: form });
  const body = (await res.json().catch(() => ({}))) as { id?: string; error?: { code: string } };
  return { status: res.status, code: body.error?.code, id: body.id };
}

const solidAvif = (side: number) =>
  sharp({ create: { width: side, height: side, channels: 3, background: '#3a6' } })
    .avif({ effort: 0, quality: 30 })
    .toBuffer();

async function avifBatches(service: BenchService) {
  const [huge, large] = await Promise.all([solidAvif(7000), solidAvif(3500)]);
  const kb = (b: Buffer) => round(b.length / 1024);
  log(`AVIF batches: 4 at once, 5 x ${kb(huge)} KB 7000x7000 + 5 x ${kb(large)} KB 3500x3500`);
  const stop = peakRss(service.api.pid!);
  const started = performance.now();
  const parts = [...Array<Buffer>(5).fill(huge), ...Array<Buffer>(5).fill(large)];
  const statuses = await Promise.all(Array.from({ length: 4 }, () => postBatch(service.url, parts)));
  return {
    peakRssMiB: await stop(),
    batches: count(statuses),
    seconds: round((performance.now() - started) / 1000, 2),
  };
}

/** A /batches upload whose one image part never ends. */
const stalledBatchTarget = {
  path: '/batches',
  contentType: 'multipart/form-data; boundary=b',
  preamble: '--b\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n',
};

async function stalledBatches(service: BenchService) {
  log('stalled batches: 60 declaring 10 MiB, 9 MiB sent, held open for 8 s');
  const stop = peakRss(service.api.pid!);
  const held = new AbortController();
  setMaxListeners(100, held.signal);
  const uploads = Array.from({ length: 60 }, () =>
    slowUpload(new URL(service.url), stalledBatchTarget, 10 * 2 ** 20, 9 * 2 ** 20, held.signal),
  );
  await new Promise((r) => setTimeout(r, 8000));
  const peakRssMiB = await stop();
  held.abort();
  return { peakRssMiB, uploads: count(await Promise.all(uploads)) };
}

async function fullRedis(service: BenchService) {
  const redis = new Redis(service.redisUrl);
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const noise = await sharp(randomBytes(256 * 256 * 3), { raw: { width: 256, height: 256, channels: 3 } })
    .png()
    .toBuffer();
  const before = await used();
  await redis.config('SET', 'maxmemory', String(before + 24 * 2 ** 20));
  log(`full Redis: maxmemory ${mib(before + 24 * 2 ** 20)} MiB, worker paused, submitting until redis_full`);
  for (const worker of service.workers) worker.kill('SIGSTOP');
  const stop = peakRss(service.api.pid!);
  try {
    const accepted: string[] = [];
    let refusal: string | undefined;
    for (let i = 0; i < 2000 && !refusal; i++) {
      const res = await postJob(service.url, noise);
      if (res.id) accepted.push(res.id);
      else refusal = `${res.status} ${res.code}`;
    }
    const full = await used();
    const refusedSingles = await Promise.all(Array.from({ length: 200 }, () => postJob(service.url, noise)));
    const refusedBatches = await Promise.all(
      Array.from({ length: 4 }, () => postBatch(service.url, Array<Buffer>(200).fill(noise))),
    );
    const growth = (await used()) - full;
    for (const worker of service.workers) worker.kill('SIGCONT');
    const drainStarted = performance.now();
    let drained = false;
    while (!drained && performance.now() - drainStarted < 120_000) {
      const last = await fetch(`${service.url}/jobs/${accepted.at(-1)}`).then(
        (r) => r.json() as Promise<{ status: string }>,
      );
      drained = last.status === 'completed';
      if (!drained) await new Promise((r) => setTimeout(r, 250));
    }
    return {
      peakRssMiB: await stop(),
      acceptedUntilFull: accepted.length,
      firstRefusal: refusal,
      refusedSingles: count(refusedSingles.map((r) => `${r.status} ${r.code}`)),
      refusedBatches: count(refusedBatches),
      redisGrowthForRefusedMiB: mib(growth),
      acceptedDrained: drained,
      drainSeconds: round((performance.now() - drainStarted) / 1000, 1),
    };
  } finally {
    for (const worker of service.workers) worker.kill('SIGCONT');
    await redis.config('SET', 'maxmemory', '0');
    redis.disconnect();
  }
}

/** Runs the three cases one after another; `ok` is whether every target was met. */
export async function hostileBatchCases(service: BenchService) {
  const avif = await avifBatches(service);
  log(`AVIF batches: ${JSON.stringify(avif)}`);
  const stalled = await stalledBatches(service);
  log(`stalled batches: ${JSON.stringify(stalled)}`);
  const full = await fullRedis(service);
  log(`full Redis: ${JSON.stringify(full)}`);
  const ok =
    [avif, stalled, full].every((r) => r.peakRssMiB <= 600) &&
    full.redisGrowthForRefusedMiB <= 10 &&
    full.acceptedDrained;
  return { avifBatches: avif, stalledBatches: stalled, fullRedis: full, ok };
}
