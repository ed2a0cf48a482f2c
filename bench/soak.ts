/**
 * `npm run soak`: open-loop load at ~80 % of measured capacity for 10 minutes, mixing good photos
 * with bad uploads, against the service started as for the bench. Reports whether the counts
 * balance (every accepted job completed or failed, nothing lost), p99 latency, and RSS and Redis
 * memory at the start and the end (they must be flat). Not a test: it takes minutes.
 *   --minutes M   duration (default 10)
 *   --rate R      arrivals per second (default 0.8 x the best end-to-end rate in bench/results/latest.json)
 *   --bad F       fraction of bad uploads (default 0.15)
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { projectRoot } from '../src/config.js';
import { sharedImages, submitImage } from './shared-images.js';
import { loopDelay, rssBytes, startBenchService } from './service.js';
import { percentile, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string' },
    bad: { type: 'string', default: '0.15' },
  },
});
const log = (line: string) => process.stderr.write(`soak: ${line}\n`);

async function defaultRate(): Promise<number> {
  const latest = await readFile(path.join(projectRoot, 'bench/results/latest.json'), 'utf8').catch(() => undefined);
  // The served model's end-to-end rates: MODEL_DIR's, else the bench's first model.
  const models = latest
    ? Object.values(
        (
          JSON.parse(latest) as {
            models: Record<string, { modelDir: string; saturated: { imagesPerSecond: number }[] }>;
          }
        ).models,
      )
    : [];
  const model = models.find((m) => m.modelDir === path.resolve(process.env['MODEL_DIR'] ?? '')) ?? models[0];
  const best = model ? Math.max(...model.saturated.map((s) => s.imagesPerSecond)) : 17;
  return round(0.8 * best);
}

const minutes = Number(args.minutes);
const rate = args.rate ? Number(args.rate) : await defaultRate();
const badFraction = Number(args.bad);

const good = await sharedImages();
const jpeg = await sharp(good[0]).jpeg().toBuffer();
const bad: Buffer[] = [
  Buffer.from('definitely not an image'),
  Buffer.alloc(0),
  jpeg.subarray(0, jpeg.length >> 1),
  Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
  await sharp(good[0]).tiff().toBuffer(),
];

// Results are kept RESULT_TTL_SECONDS: a short TTL lets Redis reach its steady state within the soak.
const service = await startBenchService(
  { RESULT_TTL_SECONDS: '60', MAX_BATCH_DELAY_MS: process.env['MAX_BATCH_DELAY_MS'] ?? '' },
  1,
);
const redis = new Redis(service.redisUrl);
const redisMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
const snapshot = async () => ({
  apiRssMiB: round((await rssBytes(service.api.pid!)) / 2 ** 20),
  workerRssMiB: round((await rssBytes(service.workers[0]!.pid!)) / 2 ** 20),
  redisMiB: round((await redisMemory()) / 2 ** 20, 2),
});

const counts = {
  goodSent: 0,
  accepted: 0,
  completed: 0,
  failed: 0,
  badSent: 0,
  badRejected4xx: 0,
  unexpected: 0,
  serverErrors: 0,
};
/**
 * Latencies of good uploads with the time they started, so the warm-up can be left out, split by
 * the job's own timestamps into time queued in Redis and time in the worker.
 */
const latencies: { startedAt: number; ms: number; queuedMs: number; workerMs: number }[] = [];
/** The first seconds run cold (JIT, ONNX Runtime's first pass at each batch size): counted, not timed. */
const warmupMs = 30_000;
const inFlight = new Set<Promise<void>>();

async function goodRequest(bytes: Buffer): Promise<void> {
  counts.goodSent++;
  const startedAt = Date.now();
  const started = performance.now();
  const res = await submitImage(service.url, bytes).catch(() => undefined);
  if (res?.status !== 202) {
    counts[res && res.status < 500 ? 'unexpected' : 'serverErrors']++;
    return;
  }
  counts.accepted++;
  const { links } = (await res.json()) as { links: { wait: string } };
  for (;;) {
    const waited = await fetch(`${service.url}${links.wait}?timeout=60`).catch(() => undefined);
    if (!waited || waited.status >= 500) {
      counts.serverErrors++;
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (waited.status === 202) continue;
    const job = (await waited.json()) as { status: string; createdAt: string; startedAt?: string; finishedAt?: string };
    counts[job.status === 'completed' ? 'completed' : 'failed']++;
    const [created, begun, finished] = [
      job.createdAt,
      job.startedAt ?? job.createdAt,
      job.finishedAt ?? job.createdAt,
    ].map(Date.parse) as [number, number, number];
    latencies.push({
      startedAt,
      ms: performance.now() - started,
      queuedMs: begun - created,
      workerMs: finished - begun,
    });
    return;
  }
}

async function badRequest(bytes: Buffer): Promise<void> {
  counts.badSent++;
  const res = await submitImage(service.url, bytes).catch(() => undefined);
  if (res && res.status >= 400 && res.status < 500) counts.badRejected4xx++;
  else counts[res && res.status < 500 ? 'unexpected' : 'serverErrors']++;
}

log(`${minutes} min at ${rate} uploads/s (${Math.round(badFraction * 100)} % bad) against ${service.url}`);
await new Promise((r) => setTimeout(r, 2000));
const samples: ({ minute: number } & Awaited<ReturnType<typeof snapshot>>)[] = [{ minute: 0, ...(await snapshot()) }];
await loopDelay(service.api);
const started = Date.now();
const endAt = started + minutes * 60_000;
let next = started;
let i = 0;
while (Date.now() < endAt) {
  const isBad = (i * 7919) % 100 < badFraction * 100;
  const request = isBad ? badRequest(bad[i % bad.length]!) : goodRequest(good[i % good.length]!);
  const tracked = request.finally(() => inFlight.delete(tracked));
  inFlight.add(tracked);
  i++;
  next += 1000 / rate;
  const minute = Math.floor((Date.now() - started) / 60_000);
  if (minute > samples.at(-1)!.minute) {
    samples.push({ minute, ...(await snapshot()) });
    log(`minute ${minute}: ${JSON.stringify(samples.at(-1))} in flight ${inFlight.size}, ${JSON.stringify(counts)}`);
  }
  await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
}
log(`draining ${inFlight.size} requests`);
await Promise.all(inFlight);
await new Promise((r) => setTimeout(r, 65_000)); // let finished results reach their TTL
const loop = await loopDelay(service.api);
samples.push({ minute: minutes + 1, ...(await snapshot()) });
redis.disconnect();
await service.stop();

const balanced = counts.accepted === counts.completed + counts.failed;
const afterWarmup = latencies.filter((l) => l.startedAt >= started + warmupMs);
const timed = afterWarmup.map((l) => l.ms);
const result = {
  minutes,
  ratePerSecond: rate,
  counts,
  balanced,
  latencyMs: {
    afterWarmup: { p50: round(percentile(timed, 50)), p99: round(percentile(timed, 99)) },
    all: {
      p99: round(
        percentile(
          latencies.map((l) => l.ms),
          99,
        ),
      ),
    },
    queuedAfterWarmup: {
      p50: round(
        percentile(
          afterWarmup.map((l) => l.queuedMs),
          50,
        ),
      ),
      p99: round(
        percentile(
          afterWarmup.map((l) => l.queuedMs),
          99,
        ),
      ),
    },
    inWorkerAfterWarmup: {
      p50: round(
        percentile(
          afterWarmup.map((l) => l.workerMs),
          50,
        ),
      ),
      p99: round(
        percentile(
          afterWarmup.map((l) => l.workerMs),
          99,
        ),
      ),
    },
  },
  apiEventLoopDelayMs: { p99: round(loop.p99), max: round(loop.max) },
  memory: samples,
};
await mkdir(path.join(projectRoot, 'bench/results'), { recursive: true });
await writeFile(path.join(projectRoot, 'bench/results/soak.json'), `${JSON.stringify(result, null, 2)}\n`);
// Every good upload's timings, relative to the start, for finding when a tail happened.
const perRequest = latencies.map((l) => ({ atS: round((l.startedAt - started) / 1000), ...l, startedAt: undefined }));
await writeFile(path.join(projectRoot, 'bench/results/soak-samples.json'), `${JSON.stringify(perRequest)}\n`);
const first = samples[1] ?? samples[0]!;
const last = samples.at(-1)!;
const { queuedAfterWarmup: queued, inWorkerAfterWarmup: inWorker } = result.latencyMs;
process.stdout.write(
  [
    `Soak: ${minutes} min, ${rate} uploads/s, ${counts.goodSent} good + ${counts.badSent} bad`,
    `  accepted ${counts.accepted} = completed ${counts.completed} + failed ${counts.failed}: ` +
      `${balanced ? 'balanced' : 'NOT BALANCED'}`,
    `  bad uploads refused with 4xx: ${counts.badRejected4xx}/${counts.badSent}; ` +
      `unexpected answers ${counts.unexpected}; 5xx or network errors ${counts.serverErrors}`,
    `  latency after the ${warmupMs / 1000} s warm-up: p50 ${result.latencyMs.afterWarmup.p50} ms, ` +
      `p99 ${result.latencyMs.afterWarmup.p99} ms (p99 including it: ${result.latencyMs.all.p99} ms); ` +
      `API event-loop delay p99 ${result.apiEventLoopDelayMs.p99} ms`,
    `  of which queued in Redis p50 ${queued.p50} ms / p99 ${queued.p99} ms, ` +
      `in the worker p50 ${inWorker.p50} ms / p99 ${inWorker.p99} ms`,
    `  after minute 1 -> end (drained): API RSS ${first.apiRssMiB} -> ${last.apiRssMiB} MiB, ` +
      `worker RSS ${first.workerRssMiB} -> ${last.workerRssMiB} MiB, Redis ${first.redisMiB} -> ${last.redisMiB} MiB`,
  ].join('\n') + '\n',
);
