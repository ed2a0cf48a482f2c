/**
 * Before/after of the per-image costs, part by part, in one run: `tsx bench/ab-parts.ts <rootA> <rootB> [rounds]`
 * starts each checkout's compiled service (its dist/: `npm run build` there first) in turn, A, B,
 * A, B..., and measures each part on its own, so a change to one part is not lost in the noise of
 * the others (or of a shared machine):
 *   submit: POST /jobs with no worker running (2 at a time), API CPU per upload;
 *   drain:  then one worker runs those jobs, its CPU per job, its main thread's apart (the
 *           inference thread is the engine's);
 *   read:   GET /jobs/:id of finished jobs (2 at a time), API CPU per read;
 * each with Redis's commands per operation (INFO commandstats, scripts' commands included).
 * CPU comes from /proc (per thread for the worker's main thread). Prints JSON; progress on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { projectRoot } from '../src/config.js';
import { loadManifest } from '../src/model/manifest.js';
import { modelQueueName } from '../src/queue/keys.js';
import { freePort, startRedisServer } from '../src/redis-server.js';
import { redisPerJob, redisSnapshot } from './redis-stats.js';
import { cpuSeconds, stopProcesses } from './service.js';
import { sharedImages, submitImage } from './shared-images.js';
import { round } from './stats.js';

const [rootA, rootB, roundsArg] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error('usage: tsx bench/ab-parts.ts <rootA> <rootB> [rounds]');
const rounds = Number(roundsArg ?? 3);
const jobs = Number(process.env['AB_JOBS'] ?? 150);
const reads = 2 * jobs;
const modelDir = process.env['AB_MODEL_DIR'] ?? path.resolve(projectRoot, '../shared/models/resnet50-v1.5-int8');
const images = await sharedImages();
const queueName = modelQueueName('classify', (await loadManifest(modelDir)).name);

/** CPU seconds of one thread (Linux /proc/<pid>/task/<tid>/stat). */
async function threadCpuSeconds(pid: number, tid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `count` calls of `call`, `parallel` at a time. */
async function inParallel(count: number, parallel: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

async function measure(root: string, side: string) {
  const redis = await startRedisServer();
  const port = await freePort();
  const env = {
    ...process.env,
    MODEL_DIR: modelDir,
    REDIS_URL: redis.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WORKER_GRACE_SECONDS: '3600',
  };
  const start = (file: string): ChildProcess =>
    spawn(process.execPath, [path.join(root, 'dist', file)], {
      cwd: root,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const api = start('api/main.js');
  let worker: ChildProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  const client = new Redis(redis.url);
  const queue = new Queue(queueName, { connection: client });
  try {
    for (
      let i = 0;
      !(await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    ) {
      if (i > 600) throw new Error('api not ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ids: string[] = [];
    const submit = async (i: number) => {
      const res = await submitImage(url, images[i % images.length]!);
      if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
      ids.push(((await res.json()) as { id: string }).id);
    };
    await inParallel(20, 2, submit);
    let cpu = await cpuSeconds(api.pid!);
    let snap = await redisSnapshot(client);
    await inParallel(jobs, 2, (i) => submit(i));
    const submitCpuMs = (((await cpuSeconds(api.pid!)) - cpu) * 1000) / jobs;
    const submitRedis = redisPerJob(snap, await redisSnapshot(client), jobs);

    worker = start('worker/main.js');
    const total = ids.length;
    // The worker's start-up (model load) is not counted: measure from its first completed job.
    while ((await queue.getCompletedCount()) < 1) await new Promise((r) => setTimeout(r, 20));
    const firstDone = await queue.getCompletedCount();
    cpu = await cpuSeconds(worker.pid!);
    let mainCpu = await threadCpuSeconds(worker.pid!, worker.pid!);
    snap = await redisSnapshot(client);
    while ((await queue.getCompletedCount()) < total) await new Promise((r) => setTimeout(r, 20));
    const drained = total - firstDone;
    const drainCpuMs = (((await cpuSeconds(worker.pid!)) - cpu) * 1000) / drained;
    const drainMainCpuMs = (((await threadCpuSeconds(worker.pid!, worker.pid!)) - mainCpu) * 1000) / drained;
    const drainRedis = redisPerJob(snap, await redisSnapshot(client), drained);
    mainCpu = 0;

    cpu = await cpuSeconds(api.pid!);
    snap = await redisSnapshot(client);
    await inParallel(reads, 2, async (i) => {
      const res = await fetch(`${url}/jobs/${ids[i % ids.length]}`);
      if (res.status !== 200) throw new Error(`read answered ${res.status}`);
      await res.arrayBuffer();
    });
    const readCpuMs = (((await cpuSeconds(api.pid!)) - cpu) * 1000) / reads;
    const readRedis = redisPerJob(snap, await redisSnapshot(client), reads);
    return {
      side,
      root,
      submit: { apiCpuMs: round(submitCpuMs, 2), redisCommands: submitRedis.commands, redisCpuMs: submitRedis.cpuMs },
      drain: {
        jobs: drained,
        workerCpuMs: round(drainCpuMs, 2),
        workerMainThreadCpuMs: round(drainMainCpuMs, 2),
        redisCommands: drainRedis.commands,
        redisCpuMs: drainRedis.cpuMs,
      },
      read: { apiCpuMs: round(readCpuMs, 2), redisCommands: readRedis.commands, redisCpuMs: readRedis.cpuMs },
    };
  } finally {
    await queue.close();
    client.disconnect();
    await stopProcesses([api, worker], redis);
  }
}

const results = [];
for (let r = 0; r < rounds; r++) {
  for (const [side, root] of [
    ['A', rootA],
    ['B', rootB],
  ] as const) {
    const m = await measure(root, side);
    process.stderr.write(
      `ab-parts: ${side}${r} submit ${JSON.stringify(m.submit)} drain ${JSON.stringify(m.drain)} ` +
        `read ${JSON.stringify(m.read)}\n`,
    );
    results.push(m);
  }
}
process.stdout.write(`${JSON.stringify({ loadAverage: (await import('node:os')).loadavg(), results }, null, 1)}\n`);
