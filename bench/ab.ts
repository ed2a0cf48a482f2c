/**
 * Before/after of one change, in one run: `tsx bench/ab.ts <rootA> <rootB> [rounds] [seconds]`
 * starts the service of each project checkout in turn (its own src under tsx, its own Redis),
 * alternating A, B, A, B..., and measures each round at 16 closed-loop clients: CPU ms per image
 * of the API, the worker and Redis (from /proc), Redis commands per job (INFO commandstats), then
 * 20 sequential requests (1 client) for the p50. CPU time is what the comparison rests on: on a
 * shared machine it moves far less than wall time. Environment: AB_ENV_A / AB_ENV_B add
 * `K=V,K=V` to one side's service; AB_PROFILE=dir writes --cpu-prof profiles there. Prints JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Redis } from 'ioredis';
import { projectRoot } from '../src/config.js';
import { freePort, startRedisServer } from '../src/redis-server.js';
import { redisPerJob, redisSnapshot } from './redis-stats.js';
import { cpuSeconds, stopProcesses } from './service.js';
import { percentile, round } from './stats.js';

const [rootA, rootB, roundsArg, secondsArg] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error('usage: tsx bench/ab.ts <rootA> <rootB> [rounds] [seconds]');
const rounds = Number(roundsArg ?? 2);
const seconds = Number(secondsArg ?? 15);
const modelDir = process.env['AB_MODEL_DIR'] ?? path.resolve(projectRoot, '../shared/models/resnet50-v1.5-int8');
const envOf = (side: string) =>
  Object.fromEntries(
    (process.env[`AB_ENV_${side}`] ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );

async function loadRun(url: string, clients: number, measureMs: number, perClient = 0) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(projectRoot, 'bench/load.ts'),
      url,
      String(clients),
      '0',
      String(measureMs),
      String(perClient),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`load exited ${code}`);
  const { samples, cpuSeconds: loadCpu } = JSON.parse(out) as {
    samples: { ok: boolean; startMs: number; endMs: number; batchSize: number }[];
    cpuSeconds: number;
  };
  const ok = samples.filter((s) => s.ok);
  return { ok, errors: samples.length - ok.length, loadCpu };
}

async function measure(root: string, side: string, roundNo: number) {
  const redis = await startRedisServer();
  const port = await freePort();
  const env = {
    ...process.env,
    MODEL_DIR: modelDir,
    ...envOf(side),
    REDIS_URL: redis.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env['AB_LOG_LEVEL'] ?? 'warn',
  };
  const profileDir = process.env['AB_PROFILE'];
  // Profiles are named by Node (CPU.<date>.<time>.<pid>.<thread>.<n>): one per thread, the inference thread's too.
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  // AB_DIST=1 runs each checkout's compiled dist/ (npm run build first): no tsx loader thread in the profiles.
  const dist = process.env['AB_DIST'] === '1';
  const start = (file: string): ChildProcess =>
    spawn(
      process.execPath,
      dist
        ? [...prof, path.join(root, 'dist', file.replace(/^src\//, '').replace(/\.ts$/, '.js'))]
        : [...prof, '--import', 'tsx', path.join(root, file)],
      { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  const worker = start('src/worker/main.ts');
  const api = start('src/api/main.ts');
  process.stderr.write(`ab: ${side}${roundNo} api pid ${api.pid}, worker pid ${worker.pid}\n`);
  const url = `http://127.0.0.1:${port}`;
  for (
    let i = 0;
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 600) throw new Error('not ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new Redis(redis.url);
  try {
    await loadRun(url, 16, 3000);
    const pids = { api: api.pid!, worker: worker.pid!, redis: redis.pid };
    const before: Record<string, number> = Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, await cpuSeconds(p)] as const)),
    );
    const snap = await redisSnapshot(client);
    const started = performance.now();
    const sat = await loadRun(url, 16, seconds * 1000);
    const wallS = (performance.now() - started) / 1000;
    const after = await redisSnapshot(client);
    const jobs = sat.ok.length;
    const cpu: Record<string, number> = {};
    for (const [k, p] of Object.entries(pids)) cpu[k] = round((((await cpuSeconds(p)) - before[k]!) * 1000) / jobs, 2);
    cpu['load'] = round((sat.loadCpu * 1000) / jobs, 2);
    const meanBatch = round(jobs / sat.ok.reduce((s, x) => s + 1 / x.batchSize, 0), 2);
    const light = await loadRun(url, 1, 0, 20);
    const lat = light.ok.map((s) => s.endMs - s.startMs);
    return {
      side,
      root,
      jobs,
      errors: sat.errors,
      imagesPerSecond: round(jobs / wallS),
      meanBatch,
      cpuMsPerImage: cpu,
      service: round(cpu['api']! + cpu['worker']! + cpu['redis']!, 2),
      redis: redisPerJob(snap, after, jobs),
      c1p50: round(percentile(lat, 50)),
    };
  } finally {
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
    const m = await measure(root, side, r);
    process.stderr.write(
      `ab: ${side}${r} ${m.imagesPerSecond} img/s, cpu/img ${JSON.stringify(m.cpuMsPerImage)}, ` +
        `redis ${m.redis.commands} cmds ${m.redis.cpuMs} ms, batch ${m.meanBatch}, c1 p50 ${m.c1p50}\n`,
    );
    results.push(m);
  }
}
process.stdout.write(`${JSON.stringify({ loadAverage: (await import('node:os')).loadavg(), results }, null, 1)}\n`);
