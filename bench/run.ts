/**
 * `npm run bench`: how much do HTTP, the queue and batching cost against the bare engine?
 * One run measures, on this machine: (1) the ONNX Runtime ceiling per batch size, (2) the running
 * service saturated by N closed-loop clients, with CPU time per image by process at the top load,
 * (3) light-load latency, (4) Redis bytes per queued job, then the workers alone draining that
 * queue, (5) API event-loop delay while the worker is saturated. Prints a table and the ratios to
 * the targets, and writes the same numbers to bench/results/latest.json.
 *   --quick          tiny request counts (for the test that the bench runs to completion)
 *   --env K=V        extra service environment (repeatable), e.g. --env MAX_BATCH_DELAY_MS=0
 *   --workers N      worker processes (default 1); the engine ceiling then runs N processes at once
 *   --out FILE       JSON output path
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig, projectRoot } from '../src/config.js';
import { sharedImages, submitImage } from './shared-images.js';
import { cpuSeconds, loopDelay, startBenchService, type BenchService } from './service.js';
import { mean, percentile, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: path.join(projectRoot, 'bench/results/latest.json') },
    workers: { type: 'string', default: '1' },
  },
});
const quick = args.quick;
const extraEnv = Object.fromEntries(args.env.map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]));
const config = loadConfig({ ...process.env, ...extraEnv });
const workerProcesses = Number(args.workers);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

const images = await sharedImages();

// ---------------------------------------------------------------- 1. engine ceiling
/** Runs bench/engine.ts in a child process with the service's environment; resolves its JSON line. */
async function engineChild<T>(args: string[]): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/engine.ts'), ...args], {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`engine measurement exited ${code}`);
  return JSON.parse(out) as T;
}

/**
 * Throughput per batch size with as many engine processes as the layout runs worker processes,
 * all at once (their sum is the layout's ceiling); batch-1 latency from one process alone, which
 * is what a lone request meets.
 */
async function engineCeiling() {
  const rows: { batch: number; imagesPerSecond: number; msPerBatch: number }[] = [];
  for (const size of quick ? [1, 4] : [1, 4, 8, 16, 32]) {
    const minImages = quick ? size : Math.max(64, 3 * size);
    const runs = await Promise.all(
      Array.from({ length: workerProcesses }, () => engineChild<{ images: number; ms: number }>(['throughput', String(size), String(minImages)])),
    );
    const imagesPerSecond = runs.reduce((sum, r) => sum + (r.images * 1000) / r.ms, 0);
    const msPerBatch = runs.reduce((sum, r) => sum + (r.ms * size) / r.images, 0) / runs.length;
    rows.push({ batch: size, imagesPerSecond: round(imagesPerSecond), msPerBatch: round(msPerBatch) });
  }
  const { samplesMs } = await engineChild<{ samplesMs: number[] }>(['latency', String(quick ? 3 : 40)]);
  return { rows, batch1: { p50Ms: round(percentile(samplesMs, 50)), p99Ms: round(percentile(samplesMs, 99)) } };
}

// ---------------------------------------------------------------- 2, 3. load through the service
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
  /** CPU the load generator itself used over the whole step, seconds. */
  cpuSeconds: number;
}

async function load(url: string, clients: number, warmupMs: number, measureMs: number, perClient = 0): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/load.ts'), url, String(clients), String(warmupMs), String(measureMs), String(perClient)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  const { samples, cpuSeconds: loadCpuSeconds } = JSON.parse(out) as {
    cpuSeconds: number;
    samples: { startMs: number; endMs: number; batchSize: number; ok: boolean; queueMs: number; workerMs: number }[];
  };
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
    cpuSeconds: loadCpuSeconds,
  };
}

// ---------------------------------------------------------------- 4. Redis footprint, and the worker alone
/**
 * Fills the queue with the workers paused and divides the growth of Redis `used_memory` by the
 * jobs queued. Then resumes and times the drain: throughput of the workers with the API idle,
 * i.e. queue + batching + inference without any decoding competing for the cores.
 */
async function redisBytesPerJob(service: BenchService, jobs: number) {
  const redis = new Redis(service.redisUrl);
  const queue = new Queue(config.queueName, { connection: redis });
  await queue.pause();
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const before = await usedMemory();
  for (let i = 0; i < jobs; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, jobs - i) }, async (_, k) => {
        const res = await submitImage(service.url, images[(i + k) % images.length]!);
        if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
      }),
    );
  }
  const waiting = await queue.getWaitingCount();
  const bytesPerJob = (await usedMemory() - before) / waiting;
  const resumed = performance.now();
  await queue.resume();
  while ((await queue.getWaitingCount()) + (await queue.getActiveCount()) > 0) await new Promise((r) => setTimeout(r, 50));
  const drainSeconds = (performance.now() - resumed) / 1000;
  await queue.close();
  redis.disconnect();
  return {
    footprint: { jobs: waiting, bytesPerJob: Math.round(bytesPerJob), kibPerJob: round(bytesPerJob / 1024) },
    drain: { jobs: waiting, imagesPerSecond: round(waiting / drainSeconds) },
  };
}

/**
 * CPU ms per completed image of each service process over one load step, and of the load
 * generator (which reports its own). Approximate: the step's warm-up is counted in both.
 */
async function cpuPerImage(pids: Record<string, number>, work: () => Promise<LoadResult>, seconds: number) {
  const before = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await cpuSeconds(pid)] as const)));
  const result = await work();
  const images = result.imagesPerSecond * seconds;
  const perImage = (cpu: number) => round((cpu * 1000) / images);
  const msPerImage: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) msPerImage[name] = perImage((await cpuSeconds(pid)) - before[name]!);
  msPerImage['load generator'] = perImage(result.cpuSeconds);
  return { result, msPerImage };
}

// ---------------------------------------------------------------- run
log(`engine ceiling (intra-op threads ${config.intraOpThreads}, ${workerProcesses} process(es))`);
const engine = await engineCeiling();
const best = engine.rows.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));

log(`starting service (redis-server, ${workerProcesses} worker process(es), api: separate processes)`);
const service = await startBenchService(extraEnv, workerProcesses);
let results;
try {
  log('redis footprint, then the workers alone draining the queue');
  const { footprint, drain } = await redisBytesPerJob(service, quick ? 10 : 200);
  log('light load: 1 client, sequential');
  const light = await load(service.url, 1, quick ? 0 : 2000, 0, quick ? 5 : 60);
  const saturated: LoadResult[] = [];
  let loop = { p50: NaN, p99: NaN, max: NaN };
  let cpu: Record<string, number> = {};
  const clientSteps = quick ? [1, 4] : [1, 4, 16, 64];
  for (const clients of clientSteps) {
    log(`saturation: ${clients} clients`);
    await loopDelay(service.api);
    const [warmupMs, measureMs] = quick ? [500, 2000] : [3000, 15000];
    if (clients === clientSteps.at(-1)) {
      const measured = await cpuPerImage(
        { api: service.api.pid!, ...Object.fromEntries(service.workers.map((w, i) => [`worker${i + 1}`, w.pid!])), redis: service.redisPid },
        () => load(service.url, clients, warmupMs, measureMs),
        (warmupMs + measureMs) / 1000,
      );
      saturated.push(measured.result);
      cpu = measured.msPerImage;
    } else {
      saturated.push(await load(service.url, clients, warmupMs, measureMs));
    }
    loop = await loopDelay(service.api);
  }
  const top = saturated.at(-1)!;
  const fullBatchMs = engine.rows.find((r) => r.batch === config.maxBatch)?.msPerBatch ?? NaN;
  const bestE2e = Math.max(...saturated.map((s) => s.imagesPerSecond));
  results = {
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version },
    settings: {
      workerProcesses,
      intraOpSpinning: config.intraOpSpinning,
      maxBatch: config.maxBatch,
      maxBatchDelayMs: config.maxBatchDelayMs,
      workerConcurrency: config.workerConcurrency,
      intraOpThreads: config.intraOpThreads,
    },
    engine,
    drain,
    saturated,
    cpuMsPerImageAtTopLoad: cpu,
    light,
    footprint,
    apiEventLoopDelayMs: { atClients: top.clients, ...loop },
    targets: {
      throughputRatio: { value: round(bestE2e / best.imagesPerSecond, 3), target: '>= 0.90', met: bestE2e / best.imagesPerSecond >= 0.9 },
      drainRatio: { value: round(drain.imagesPerSecond / best.imagesPerSecond, 3), target: '(>= 0.90)', met: drain.imagesPerSecond / best.imagesPerSecond >= 0.9 },
      lightLoadOverheadMs: { value: round(light.p50Ms - engine.batch1.p50Ms), target: '<= 15', met: light.p50Ms - engine.batch1.p50Ms <= 15 },
      meanBatchAtTopLoad: { value: top.meanBatch, target: '> 4', met: top.meanBatch > 4 },
      p99OverFullBatch: { value: round(top.p99Ms / fullBatchMs, 2), target: '< 3', met: top.p99Ms / fullBatchMs < 3 },
      redisKibPerJob: { value: footprint.kibPerJob, target: '<= 160', met: footprint.kibPerJob <= 160 },
      apiLoopDelayP99Ms: { value: round(loop.p99), target: '< 20', met: loop.p99 < 20 },
    },
  };
} finally {
  await service.stop();
}

const pad = (s: unknown, n: number) => String(s).padStart(n);
const lines = [
  `Machine: ${results.machine.cores} cores, ${results.machine.cpu}, Node ${results.machine.node}`,
  `Settings: ${workerProcesses} worker process(es), INTRA_OP_SPINNING=${config.intraOpSpinning} MAX_BATCH=${config.maxBatch} MAX_BATCH_DELAY_MS=${config.maxBatchDelayMs} WORKER_CONCURRENCY=${config.workerConcurrency} INTRA_OP_THREADS=${config.intraOpThreads}`,
  '',
  `Engine (ONNX Runtime, ${workerProcesses} process(es)) batch   images/s   ms/batch`,
  ...engine.rows.map((r) => `                                      ${pad(r.batch, 5)} ${pad(r.imagesPerSecond, 10)} ${pad(r.msPerBatch, 10)}`),
  `  batch-1 latency p50 ${engine.batch1.p50Ms} ms, p99 ${engine.batch1.p99Ms} ms`,
  '',
  'End to end (HTTP + queue + worker)   clients   images/s   p50 ms   p95 ms   p99 ms   mean batch   queued ms   in worker ms   errors',
  ...results.saturated.map(
    (s) => `                                      ${pad(s.clients, 5)} ${pad(s.imagesPerSecond, 10)} ${pad(s.p50Ms, 8)} ${pad(s.p95Ms, 8)} ${pad(s.p99Ms, 8)} ${pad(s.meanBatch, 12)} ${pad(s.queueMs, 11)} ${pad(s.workerMs, 14)} ${pad(s.errors, 8)}`,
  ),
  `  light load (1 client, sequential, ${results.light.requests} requests): p50 ${results.light.p50Ms} ms, p99 ${results.light.p99Ms} ms (queued ${results.light.queueMs} ms, in worker ${results.light.workerMs} ms)`,
  `  workers alone, draining ${results.drain.jobs} queued jobs with the API idle: ${results.drain.imagesPerSecond} images/s`,
  `  CPU ms per image at ${results.apiEventLoopDelayMs.atClients} clients, by process: ${Object.entries(results.cpuMsPerImageAtTopLoad).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  `  Redis per queued job: ${results.footprint.bytesPerJob} bytes (${results.footprint.kibPerJob} KiB) over ${results.footprint.jobs} jobs`,
  `  API event-loop delay at ${results.apiEventLoopDelayMs.atClients} clients: p50 ${round(results.apiEventLoopDelayMs.p50)} ms, p99 ${round(results.apiEventLoopDelayMs.p99)} ms, max ${round(results.apiEventLoopDelayMs.max)} ms`,
  '',
  'Target                                          measured     target   met',
  ...Object.entries({
    'e2e best / engine best throughput': results.targets.throughputRatio,
    'workers alone (API idle) / engine best': results.targets.drainRatio,
    'light-load p50 - engine batch-1 p50 (ms)': results.targets.lightLoadOverheadMs,
    [`mean batch at ${results.apiEventLoopDelayMs.atClients} clients`]: results.targets.meanBatchAtTopLoad,
    [`p99 at ${results.apiEventLoopDelayMs.atClients} clients / full batch (${config.maxBatch}) time`]: results.targets.p99OverFullBatch,
    'Redis KiB per queued job': results.targets.redisKibPerJob,
    'API event-loop delay p99 (ms)': results.targets.apiLoopDelayP99Ms,
  }).map(([name, t]) => `${name.padEnd(46)} ${pad(t.value, 9)} ${pad(t.target, 10)}   ${t.met ? 'yes' : 'NO'}`),
];
process.stdout.write(`${lines.join('\n')}\n`);
await mkdir(path.dirname(args.out), { recursive: true });
await writeFile(args.out, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${path.relative(process.cwd(), args.out)}`);
