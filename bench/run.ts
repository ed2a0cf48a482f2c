/**
 * `npm run bench`: how much do HTTP, the queue and batching cost against the bare engine, for the
 * float32 and the int8 model? One run measures, on this machine and for each model: (1) the ONNX
 * Runtime ceiling per batch size at the best raw settings (intra-op spinning on and off: the
 * faster counts), (2) the running service saturated by N closed-loop clients, with CPU time per
 * image by process at the top load, (3) light-load latency with a per-stage breakdown from job
 * timestamps, (4) Redis bytes per queued job and API CPU per upload (small photo, 12 MP phone
 * JPEG), then the workers alone draining that queue, (5) API event-loop delay while the worker is
 * saturated, (6) a "phone" mix (20 % of requests are 12 MP EXIF-rotated JPEGs) next to the
 * small-photo mix. Then the int8/fp32 ratios and the top-1 agreement of the two models on the
 * shared photos. Prints tables and the ratios to the targets, and writes the same numbers to
 * bench/results/latest.json.
 *   --quick          tiny request counts (for the test that the bench runs to completion)
 *   --models LIST    fp32,int8 (default: both, int8 only when its directory exists)
 *   --env K=V        extra service environment (repeatable), e.g. --env MAX_BATCH_DELAY_MS=0
 *   --workers N      worker processes (default 1); the engine ceiling then runs N processes at once
 *   --out FILE       JSON output path
 *   --steps LIST     client counts of the saturation steps (default 1,4,16,64); must hold 16, the CPU budget's
 *                    step and the phone mix's comparison: `--steps 16` prints every issue-20 target figure
 *   --service-root D run the service (API and workers) from checkout D's src/ instead of this one's: this
 *                    bench measuring another build, e.g. main's for a before/after (D needs node_modules)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig, projectRoot } from '../src/config.js';
import type { JobResult } from '../src/queue/job-schemas.js';
import { modelQueueName } from '../src/queue/keys.js';
import { loadManifest } from '../src/model/manifest.js';
import type { Sample } from './load.js';
import { phonePhoto } from './phone-photos.js';
import { sharedImages, submitImage } from './shared-images.js';
import { cpuSeconds, loopDelay, startBenchService, type BenchService } from './service.js';
import { monitorRoundTrips, redisPerJob, redisSnapshot } from './redis-stats.js';
import { renderReport } from './report.js';
import { mean, percentile, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: path.join(projectRoot, 'bench/results/latest.json') },
    workers: { type: 'string', default: '1' },
    steps: { type: 'string' },
    'service-root': { type: 'string', default: projectRoot },
  },
});
const quick = args.quick;
const extraEnv = Object.fromEntries(args.env.map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]));
const config = loadConfig({ ...process.env, ...extraEnv });
/** The queue of the model in `modelDir`, which the stage breakdown and the footprint read. */
const jobQueueOf = async (modelDir: string) => modelQueueName(config.queue.name, (await loadManifest(modelDir)).name);
const workerProcesses = Number(args.workers);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** The two builds of the shared ResNet-50 the bench compares. */
const modelDirs = {
  fp32: path.resolve(projectRoot, '../shared/models/resnet50-v1.5'),
  int8: path.resolve(projectRoot, '../shared/models/resnet50-v1.5-int8'),
} as const;
type ModelKey = keyof typeof modelDirs;
const models = (args.models?.split(',') ??
  Object.keys(modelDirs).filter((m) => existsSync(modelDirs[m as ModelKey]))) as ModelKey[];
for (const m of models) if (!(m in modelDirs)) throw new Error(`--models: unknown model ${m} (fp32, int8)`);

const images = await sharedImages();
/** Share of phone photos in the phone mix. */
const phoneFraction = 0.2;

// ---------------------------------------- 1. engine ceiling
/** Runs bench/engine.ts in a child process with the service's environment plus `env`; resolves its JSON line. */
async function engineChild<T>(env: Record<string, string>, args: string[]): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/engine.ts'), ...args], {
    env: { ...process.env, ...extraEnv, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`engine measurement exited ${code}`);
  return JSON.parse(out) as T;
}

interface EngineRow {
  batch: number;
  imagesPerSecond: number;
  msPerBatch: number;
  /** CPU time of the engine process per image (ONNX Runtime's threads included): its core-time. */
  coreMsPerImage: number;
}

/**
 * Throughput per batch size with as many engine processes as the layout runs worker processes,
 * all at once (their sum is the layout's ceiling), with intra-op spinning on and off: the best
 * raw figure is the faster of the two. Batch-1 latency from one process alone (what a lone
 * request meets), also with both settings, the lower p50 counting.
 */
async function engineCeiling(modelDir: string) {
  const bySpinning: Record<string, { rows: EngineRow[]; batch1: { p50Ms: number; p99Ms: number } }> = {};
  for (const spinning of quick ? [String(config.worker.intraOpSpinning)] : ['true', 'false']) {
    const env = { MODEL_DIR: modelDir, INTRA_OP_SPINNING: spinning };
    const sizes = quick ? [1, 4] : [1, 2, 4, 8, 16];
    const runs = await Promise.all(
      Array.from({ length: workerProcesses }, () =>
        engineChild<{ rows: { batch: number; images: number; ms: number; cpuMs: number }[] }>(env, [
          'throughput',
          sizes.join(','),
          quick ? '1' : '64',
        ]),
      ),
    );
    const rows = sizes.map((batch, i) => {
      const cells = runs.map((r) => r.rows[i]!);
      return {
        batch,
        imagesPerSecond: round(cells.reduce((sum, r) => sum + (r.images * 1000) / r.ms, 0)),
        msPerBatch: round(cells.reduce((sum, r) => sum + (r.ms * batch) / r.images, 0) / cells.length),
        coreMsPerImage: round(
          cells.reduce((sum, r) => sum + r.cpuMs, 0) / cells.reduce((sum, r) => sum + r.images, 0),
          2,
        ),
      };
    });
    // --quick takes the throughput run's batch-1 time as its one latency sample: a process less per model.
    const { samplesMs } = quick
      ? { samplesMs: [rows[0]!.msPerBatch] }
      : await engineChild<{ samplesMs: number[] }>(env, ['latency', '40']);
    bySpinning[spinning] = {
      rows,
      batch1: { p50Ms: round(percentile(samplesMs, 50)), p99Ms: round(percentile(samplesMs, 99)) },
    };
  }
  const all = Object.entries(bySpinning).flatMap(([spinning, r]) =>
    r.rows.map((row) => ({ ...row, spinning: spinning === 'true' })),
  );
  const best = all.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
  const batch1 = Object.values(bySpinning)
    .map((r) => r.batch1)
    .reduce((a, b) => (b.p50Ms < a.p50Ms ? b : a));
  // Core-time under the spinning setting the service runs (spinning burns CPU while it waits).
  const served = bySpinning[String(config.worker.intraOpSpinning)]!.rows;
  const bestCore = served.reduce((a, b) => (b.coreMsPerImage < a.coreMsPerImage ? b : a));
  return {
    bySpinning,
    best,
    batch1,
    bestCoreMsPerImage: bestCore.coreMsPerImage,
    bestCoreBatch: bestCore.batch,
    served,
  };
}

/** Engine core-ms per image at batch size `b`, interpolated between the measured sizes (the nearest beyond them). */
function coreMsAt(rows: readonly EngineRow[], b: number): number {
  const upper = rows.find((r) => r.batch >= b) ?? rows.at(-1)!;
  const lower = rows.findLast((r) => r.batch <= b) ?? rows[0]!;
  if (upper.batch === lower.batch) return upper.coreMsPerImage;
  const t = (b - lower.batch) / (upper.batch - lower.batch);
  return lower.coreMsPerImage + t * (upper.coreMsPerImage - lower.coreMsPerImage);
}

/** The bare decode cost on one thread (bench/decode.ts), CPU and wall ms per image. */
async function decodeCost(modelDir: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(projectRoot, 'bench/decode.ts'), modelDir, quick ? '1' : '20'],
    { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`decode measurement exited ${code}`);
  const r = JSON.parse(out) as Record<'bare' | 'prepareImage', { cpuMs: number; wallMs: number }>;
  const rounded = (x: { cpuMs: number; wallMs: number }) => ({ cpuMs: round(x.cpuMs, 2), wallMs: round(x.wallMs, 2) });
  return { bare: rounded(r.bare), prepareImage: rounded(r.prepareImage) };
}

// ---------------------------------------- 2, 3. load through the service
interface LoadResult {
  clients: number;
  imagesPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanBatch: number;
  /** Means over jobs, from job timestamps: time queued in Redis, and time inside the worker. */
  queueMs: number;
  workerMs: number;
  requests: number;
  errors: number;
  /** Measured requests that sent a 12 MP phone photo. */
  phoneRequests: number;
  /** All requests that did, warm-up included. */
  phoneRequestsSent: number;
  /** CPU the load generator itself used over the whole step, seconds. */
  cpuSeconds: number;
  /** Images completed over the whole step, warm-up included (what the step's CPU time is divided by). */
  completed: number;
  /** The measured requests themselves, for the stage breakdown (not written to the JSON). */
  samples: Sample[];
}

interface LoadOptions {
  perClient?: number;
  /** `Prefer: wait` on the POST instead of a second request to /wait. */
  preferWait?: boolean;
  /** Directory of 12 MP phone JPEGs, sent in phoneFraction of the requests. */
  phoneDir?: string;
}

async function load(
  url: string,
  clients: number,
  warmupMs: number,
  measureMs: number,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const phone = options.phoneDir ? [String(phoneFraction), options.phoneDir] : [];
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(projectRoot, 'bench/load.ts'),
      url,
      String(clients),
      String(warmupMs),
      String(measureMs),
      String(options.perClient ?? 0),
      ...phone,
      ...(options.preferWait ? ['--prefer-wait'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  const { samples, cpuSeconds: loadCpuSeconds } = JSON.parse(out) as { cpuSeconds: number; samples: Sample[] };
  const windowEnd = measureMs > 0 ? warmupMs + measureMs : Infinity;
  const measured = samples.filter((s) => s.startMs >= warmupMs && s.endMs <= windowEnd);
  const completedInWindow = samples.filter((s) => s.ok && s.endMs >= warmupMs && s.endMs <= windowEnd).length;
  const ok = measured.filter((s) => s.ok);
  const latencies = ok.map((s) => s.endMs - s.startMs);
  const seconds = measureMs > 0 ? measureMs / 1000 : (Math.max(...ok.map((s) => s.endMs)) - warmupMs) / 1000;
  return {
    clients,
    imagesPerSecond: round((measureMs > 0 ? completedInWindow : ok.length) / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
    // Jobs per forward pass: each job in a batch of b accounts for 1/b of a batch.
    meanBatch: round(ok.length / ok.reduce((s, x) => s + 1 / x.batchSize, 0), 2),
    queueMs: round(mean(ok.map((s) => s.queueMs))),
    workerMs: round(mean(ok.map((s) => s.workerMs))),
    requests: measured.length,
    errors: measured.length - ok.length,
    phoneRequests: measured.filter((s) => s.phone).length,
    phoneRequestsSent: samples.filter((s) => s.phone).length,
    cpuSeconds: loadCpuSeconds,
    completed: samples.filter((s) => s.ok).length,
    samples: ok,
  };
}

const withoutSamples = ({ samples: _samples, ...rest }: LoadResult) => rest;

/**
 * Where a light-load request's time goes, median ms per stage. The API's Server-Timing gives
 * upload read, decode/resize and enqueue; BullMQ's timestamps and the worker's marks (job result)
 * give the wait until a worker picks the job up, reading its input, the batch-fill delay,
 * inference (with the hand-off to the model thread) and the result write; the API's
 * Server-Timing on the long-poll gives event delivery. What remains of the client's total is
 * HTTP, the two responses and the client itself. Clocks: one host, so epoch ms compare.
 */
async function stageBreakdown(redisUrl: string, jobQueue: string, samples: Sample[]) {
  const redis = new Redis(redisUrl);
  const queue = new Queue(jobQueue, { connection: redis });
  const rows: Record<string, number>[] = [];
  for (const s of samples) {
    const job = s.id ? await Job.fromId<unknown, JobResult>(queue, s.id) : undefined;
    const marks = job?.returnvalue?.marks;
    if (!job?.processedOn || !job.finishedOn || !marks) continue;
    const st = s.serverTiming;
    const stages: Record<string, number> = {
      'upload read': st['upload'] ?? NaN,
      'decode + resize + crop': st['preprocess'] ?? NaN,
      'enqueue (store input, add job)': st['enqueue'] ?? NaN,
      'wait for a worker to pick it up': marks.pickedUpAt - job.timestamp,
      'read input in the worker': marks.inputAt - marks.pickedUpAt,
      'batch-fill delay': marks.batchStartAt - marks.inputAt,
      'inference (incl. thread hand-off)': marks.batchEndAt - marks.batchStartAt,
      'result write': job.finishedOn - marks.batchEndAt,
      'event delivery to the long-poll': st['event'] ?? 0,
    };
    const accounted = Object.values(stages).reduce((a, b) => a + b, 0);
    rows.push({
      ...stages,
      'HTTP, responses, client (rest)': s.endEpochMs - s.startEpochMs - accounted,
      total: s.endEpochMs - s.startEpochMs,
    });
  }
  await queue.close();
  redis.disconnect();
  const names = Object.keys(rows[0] ?? {});
  return Object.fromEntries(
    names.map((n) => [
      n,
      round(
        percentile(
          rows.map((r) => r[n]!),
          50,
        ),
      ),
    ]),
  );
}

// ---------------------------------------- 4. Redis footprint, API CPU per upload, the worker alone
/**
 * Fills the queue with the workers paused and divides the growth of Redis `used_memory` by the
 * jobs queued, and the API's CPU time by the uploads (small photos, then 12 MP phone JPEGs).
 * Then resumes and times the drain: throughput of the workers with the API idle, i.e. queue +
 * batching + inference without any decoding competing for the cores.
 */
async function queueFilled(service: BenchService, jobQueue: string, jobs: number, phones: Buffer[]) {
  const redis = new Redis(service.redisUrl);
  const queue = new Queue(jobQueue, { connection: redis });
  await queue.pause();
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const submitAll = async (list: Buffer[], count: number) => {
    const cpuBefore = await cpuSeconds(service.api.pid!);
    // Two at a time: both cores busy, as many uploads in flight as there are cores.
    for (let i = 0; i < count; i += 2) {
      await Promise.all(
        Array.from({ length: Math.min(2, count - i) }, async (_, k) => {
          const res = await submitImage(service.url, list[(i + k) % list.length]!);
          if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
        }),
      );
    }
    return (((await cpuSeconds(service.api.pid!)) - cpuBefore) * 1000) / count;
  };
  const before = await usedMemory();
  const apiCpuMsPerSmall = await submitAll(images, jobs);
  const waiting = await queue.getWaitingCount();
  const bytesPerJob = ((await usedMemory()) - before) / waiting;
  const phoneCount = quick ? 2 : 30;
  const apiCpuMsPerPhone = await submitAll(phones, phoneCount);
  const queued = waiting + phoneCount;
  const resumed = performance.now();
  await queue.resume();
  while ((await queue.getWaitingCount()) + (await queue.getActiveCount()) > 0)
    await new Promise((r) => setTimeout(r, 50));
  const drainSeconds = (performance.now() - resumed) / 1000;
  await queue.close();
  redis.disconnect();
  return {
    footprint: { jobs: waiting, bytesPerJob: Math.round(bytesPerJob), kibPerJob: round(bytesPerJob / 1024) },
    apiCpuMsPerUpload: { small: round(apiCpuMsPerSmall), phone: round(apiCpuMsPerPhone) },
    drain: { jobs: queued, imagesPerSecond: round(queued / drainSeconds) },
  };
}

/**
 * What one load step cost per completed image: CPU ms of each service process (from /proc) and
 * of the load generator (which reports its own), and Redis's own counters (commands, scripts, CPU,
 * bytes). The whole step counts, warm-up included, on both sides of the division.
 */
async function costPerImage(service: BenchService, work: () => Promise<LoadResult>) {
  const pids: Record<string, number> = {
    api: service.api.pid!,
    ...Object.fromEntries(service.workers.map((w, i) => [`worker${i + 1}`, w.pid!])),
    redis: service.redisPid,
  };
  const redis = new Redis(service.redisUrl);
  try {
    const cpuNow = async () =>
      Object.fromEntries(
        await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await cpuSeconds(pid)] as const)),
      );
    const [before, redisBefore] = [await cpuNow(), await redisSnapshot(redis)];
    const result = await work();
    const [after, redisAfter] = [await cpuNow(), await redisSnapshot(redis)];
    const images = result.completed;
    const msPerImage: Record<string, number> = {};
    for (const name of Object.keys(pids)) msPerImage[name] = round(((after[name]! - before[name]!) * 1000) / images, 2);
    msPerImage['load generator'] = round((result.cpuSeconds * 1000) / images, 2);
    return { result, msPerImage, redis: redisPerJob(redisBefore, redisAfter, images) };
  } finally {
    redis.disconnect();
  }
}

/**
 * MONITOR of `jobs` sequential jobs (POST, then /wait): what clients send Redis for one job,
 * round trips and the commands run inside scripts, with the first job's commands listed.
 */
async function monitoredJobs(service: BenchService, jobs: number) {
  return monitorRoundTrips(service.redisUrl, jobs, async (markJob) => {
    for (let i = 0; i < jobs; i++) {
      markJob();
      const submitted = await submitImage(service.url, images[i % images.length]!);
      const { links } = (await submitted.json()) as { links: { wait: string } };
      const done = await fetch(`${service.url}${links.wait}?timeout=60`);
      if (done.status !== 200) throw new Error(`monitored job answered ${done.status}`);
      await done.body?.cancel();
    }
  });
}

// ---------------------------------------- one model, end to end
/** The clients of the step whose CPU budget the bench reports (the saturation point). */
const budgetClients = quick ? 2 : 16;
const steps = (args.steps ?? '1,4,16,64').split(',').map(Number);
if (!steps.includes(16) || steps.some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error(`--steps ${args.steps}: positive client counts that include 16`);
}
const serviceRoot = path.resolve(args['service-root']);

async function measureService(model: ModelKey, phoneDir: string, phones: Buffer[]) {
  const env = { ...extraEnv, MODEL_DIR: modelDirs[model] };
  const jobQueue = await jobQueueOf(modelDirs[model]);
  log(`${model}: starting service (redis-server, ${workerProcesses} worker process(es), api: separate processes)`);
  const service = await startBenchService(env, workerProcesses, serviceRoot);
  try {
    log(`${model}: redis footprint and API CPU per upload, then the workers alone draining the queue`);
    const { footprint, apiCpuMsPerUpload, drain } = await queueFilled(service, jobQueue, quick ? 10 : 200, phones);
    log(`${model}: light load: 1 client, sequential, POST then /wait`);
    const light = await load(service.url, 1, quick ? 0 : 2000, 0, { perClient: quick ? 3 : 60 });
    const stages = await stageBreakdown(service.redisUrl, jobQueue, light.samples);
    log(`${model}: light load: 1 client, sequential, POST with Prefer: wait`);
    const lightPreferWait = await load(service.url, 1, quick ? 0 : 2000, 0, {
      perClient: quick ? 3 : 60,
      preferWait: true,
    });
    log(`${model}: MONITOR of ${quick ? 2 : 10} jobs, one after another`);
    const monitored = await monitoredJobs(service, quick ? 2 : 10);
    const saturated: LoadResult[] = [];
    const costs: Record<number, Omit<Awaited<ReturnType<typeof costPerImage>>, 'result'>> = {};
    let budgetSamples: Sample[] = [];
    let loop = { p50: NaN, p99: NaN, max: NaN };
    const clientSteps = quick ? [2] : steps;
    const [warmupMs, measureMs] = quick ? [200, 1000] : [3000, 15000];
    for (const clients of clientSteps) {
      log(`${model}: saturation: ${clients} clients`);
      await loopDelay(service.api);
      const { result, ...cost } = await costPerImage(service, () => load(service.url, clients, warmupMs, measureMs));
      saturated.push(result);
      costs[clients] = cost;
      if (clients === budgetClients) budgetSamples = result.samples;
      loop = await loopDelay(service.api);
    }
    const phoneClients = quick ? 2 : 16;
    log(`${model}: phone mix: ${phoneClients} clients, ${phoneFraction * 100} % 12 MP JPEGs`);
    const phoneMix = await load(service.url, phoneClients, warmupMs, measureMs, { phoneDir });
    const smallMix = saturated.find((s) => s.clients === phoneClients)!;
    return {
      drain,
      footprint,
      apiCpuMsPerUpload,
      light: withoutSamples(light),
      lightPreferWait: withoutSamples(lightPreferWait),
      stages,
      monitored,
      saturated: saturated.map(withoutSamples),
      costs,
      /** Batch sizes the worker ran at the budget step, as the share of images that rode in each. */
      budgetBatchSizes: batchMix(budgetSamples),
      phoneMix: { ...withoutSamples(phoneMix), smallMixImagesPerSecond: smallMix.imagesPerSecond },
      cpuMsPerImageAtTopLoad: costs[clientSteps.at(-1)!]!.msPerImage,
      apiEventLoopDelayMs: { atClients: saturated.at(-1)!.clients, ...loop },
    };
  } finally {
    await service.stop();
  }
}

/** Share of images by the size of the batch they rode in. */
function batchMix(samples: readonly Sample[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of samples) counts[s.batchSize] = (counts[s.batchSize] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).map(([b, n]) => [b, round(n / samples.length, 3)]));
}

/**
 * The CPU budget of one image at the budget step: what the service spent (API, workers, Redis)
 * against what cannot be avoided, the engine's core-time at the batch sizes the worker actually
 * ran and the bare decode. The rest is overhead. The limit is what the cores could do if each
 * image cost only the engine at its best batch size and the decode.
 */
function cpuBudget(
  engine: Awaited<ReturnType<typeof engineCeiling>>,
  decode: Awaited<ReturnType<typeof decodeCost>>,
  service: Awaited<ReturnType<typeof measureService>>,
) {
  const cost = service.costs[budgetClients]!;
  const step = service.saturated.find((s) => s.clients === budgetClients)!;
  const processes = Object.entries(cost.msPerImage).filter(([name]) => name !== 'load generator');
  const serviceMs = processes.reduce((sum, [, ms]) => sum + ms, 0);
  const engineAtMix = Object.entries(service.budgetBatchSizes).reduce(
    (sum, [b, share]) => sum + share * coreMsAt(engine.served, Number(b)),
    0,
  );
  const cores = os.availableParallelism();
  const limit = (cores * 1000) / (engine.bestCoreMsPerImage + decode.bare.cpuMs);
  return {
    clients: budgetClients,
    imagesPerSecond: step.imagesPerSecond,
    serviceCpuMs: round(serviceMs, 2),
    engineCoreMsAtWorkerBatches: round(engineAtMix, 2),
    engineCoreMsBest: engine.bestCoreMsPerImage,
    decodeCpuMs: decode.bare.cpuMs,
    overheadMs: round(serviceMs - engineAtMix - decode.bare.cpuMs, 2),
    /** Of the overhead, what running smaller batches than the best costs the engine. */
    batchShortfallMs: round(engineAtMix - engine.bestCoreMsPerImage, 2),
    limitImagesPerSecond: round(limit),
    ofLimit: round(step.imagesPerSecond / limit, 3),
  };
}

function targets(
  engine: Awaited<ReturnType<typeof engineCeiling>>,
  decode: Awaited<ReturnType<typeof decodeCost>>,
  service: Awaited<ReturnType<typeof measureService>>,
  budget: ReturnType<typeof cpuBudget>,
) {
  const top = service.saturated.at(-1)!;
  const bestRaw = engine.best.imagesPerSecond;
  const fullBatchMs =
    engine.bySpinning[String(config.worker.intraOpSpinning)]?.rows.find((r) => r.batch === config.worker.maxBatch)
      ?.msPerBatch ?? NaN;
  const bestE2e = Math.max(...service.saturated.map((s) => s.imagesPerSecond));
  const light = service.light.p50Ms - engine.batch1.p50Ms;
  const c1Bound = engine.batch1.p50Ms + decode.bare.wallMs + 3;
  const c1 = Math.min(service.light.p50Ms, service.lightPreferWait.p50Ms);
  const redis = service.costs[budgetClients]!.redis;
  const phone = service.phoneMix.imagesPerSecond / service.phoneMix.smallMixImagesPerSecond;
  const t = (value: number, target: string, met: boolean) => ({ value, target, met });
  return {
    overheadMs: t(budget.overheadMs, '<= 3', budget.overheadMs <= 3),
    ofLimit: t(budget.ofLimit, '>= 0.80', budget.ofLimit >= 0.8),
    c1P50Ms: t(round(c1), `<= ${round(c1Bound)}`, c1 <= c1Bound),
    redisCpuMsPerJob: t(redis.cpuMs, '<= 0.4', redis.cpuMs <= 0.4),
    redisCommandsPerJob: t(redis.commands, '<= 45', redis.commands <= 45),
    throughputRatio: t(round(bestE2e / bestRaw, 3), '>= 0.90', bestE2e / bestRaw >= 0.9),
    drainRatio: t(
      round(service.drain.imagesPerSecond / bestRaw, 3),
      '(>= 0.90)',
      service.drain.imagesPerSecond / bestRaw >= 0.9,
    ),
    lightLoadOverheadMs: t(round(light), '<= 15', light <= 15),
    phoneMixRatio: t(round(phone, 3), '>= 0.85', phone >= 0.85),
    apiCpuMsPerPhoneJpeg: t(service.apiCpuMsPerUpload.phone, '<= 40', service.apiCpuMsPerUpload.phone <= 40),
    meanBatchAtTopLoad: t(top.meanBatch, '> 4', top.meanBatch > 4),
    p99OverFullBatch: t(round(top.p99Ms / fullBatchMs, 2), '< 3', top.p99Ms / fullBatchMs < 3),
    redisKibPerJob: t(service.footprint.kibPerJob, '<= 160', service.footprint.kibPerJob <= 160),
    apiLoopDelayP99Ms: t(round(service.apiEventLoopDelayMs.p99), '< 20', service.apiEventLoopDelayMs.p99 < 20),
  };
}

// ---------------------------------------- run
const phoneDir = await mkdtemp(path.join(os.tmpdir(), 'bench-phone-'));
const phones = await Promise.all(images.map(phonePhoto));
await Promise.all(phones.map((bytes, i) => writeFile(path.join(phoneDir, `phone-${i}.jpg`), bytes)));

type ModelResult = {
  modelDir: string;
  engine: Awaited<ReturnType<typeof engineCeiling>>;
  decode: Awaited<ReturnType<typeof decodeCost>>;
  budget: ReturnType<typeof cpuBudget>;
  targets: ReturnType<typeof targets>;
} & Awaited<ReturnType<typeof measureService>>;
const perModel: Partial<Record<ModelKey, ModelResult>> = {};
try {
  for (const model of models) {
    log(
      `${model}: engine ceiling (intra-op threads ${config.worker.intraOpThreads}, ${workerProcesses} process(es), ` +
        'spinning on and off)',
    );
    const engine = await engineCeiling(modelDirs[model]);
    log(`${model}: bare decode cost (sharp, one thread)`);
    const decode = await decodeCost(modelDirs[model]);
    const service = await measureService(model, phoneDir, phones);
    const budget = cpuBudget(engine, decode, service);
    perModel[model] = {
      modelDir: modelDirs[model],
      engine,
      decode,
      ...service,
      budget,
      targets: targets(engine, decode, service, budget),
    };
  }
} finally {
  await rm(phoneDir, { recursive: true, force: true });
}

let agreement:
  | {
      photos: number;
      referenceAgreeing: number;
      views: number;
      viewsAgreeing: number;
      disagreements: unknown[];
      passed?: boolean;
    }
  | undefined;
if (models.includes('fp32') && models.includes('int8')) {
  log('top-1 agreement of int8 with fp32 on the shared photos');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(projectRoot, 'bench/agreement.ts'),
      modelDirs.fp32,
      modelDirs.int8,
      ...(quick ? ['--quick'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`agreement check exited ${code}`);
  agreement = JSON.parse(out) as NonNullable<typeof agreement>;
  // The guard for serving int8: every reference crop keeps its top-1, and at least 95 % of the views.
  agreement.passed =
    agreement.referenceAgreeing === agreement.photos && agreement.viewsAgreeing >= 0.95 * agreement.views;
}
/** What the CPU offers ONNX Runtime's int8 kernels (VNNI makes them several times faster than float32). */
async function int8Instructions(): Promise<string> {
  const flags = new Set(
    (/^flags\s*:(.*)$/m.exec(await readFile('/proc/cpuinfo', 'utf8').catch(() => ''))?.[1] ?? '').trim().split(/\s+/),
  );
  const vnni = ['amx_int8', 'avx512_vnni', 'avx_vnni'].filter((f) => flags.has(f));
  return vnni.length > 0 ? vnni.join(' ') : flags.has('avx2') ? 'avx2, no VNNI' : 'unknown';
}
const [fp32, int8] = [perModel.fp32, perModel.int8];
const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined ? round(a / b, 2) : undefined;
const results = {
  machine: {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    int8Instructions: await int8Instructions(),
    node: process.version,
    loadAverage: os.loadavg().map((l) => round(l, 2)),
  },
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  settings: {
    /** The checkout whose service was measured (--service-root). */
    serviceRoot,
    workerProcesses,
    intraOpSpinning: config.worker.intraOpSpinning,
    maxBatch: config.worker.maxBatch,
    maxBatchDelayMs: config.worker.maxBatchDelayMs,
    workerConcurrency: config.worker.concurrency,
    intraOpThreads: config.worker.intraOpThreads,
  },
  models: perModel,
  int8OverFp32: {
    engineBest: ratio(int8?.engine.best.imagesPerSecond, fp32?.engine.best.imagesPerSecond),
    engineBatch1Latency: ratio(int8?.engine.batch1.p50Ms, fp32?.engine.batch1.p50Ms),
    endToEndBest: ratio(
      int8 && Math.max(...int8.saturated.map((s) => s.imagesPerSecond)),
      fp32 && Math.max(...fp32.saturated.map((s) => s.imagesPerSecond)),
    ),
    lightLoadP50: ratio(int8?.light.p50Ms, fp32?.light.p50Ms),
  },
  agreement,
};

/** Everything one run measured, as bench/results/latest.json holds it and bench/report.ts renders it. */
export type BenchResults = typeof results;
process.stdout.write(renderReport(results));
await mkdir(path.dirname(args.out), { recursive: true });
await writeFile(args.out, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${path.relative(process.cwd(), args.out)}`);
