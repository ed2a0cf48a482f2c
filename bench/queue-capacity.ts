/**
 * `npm run bench -- --queue-only`: how far does one Redis carry a fleet? The API + queue + worker
 * path with a tiny generated ONNX classifier (inference costs ~nothing), in four layouts: 1 or 4
 * worker processes x 1 or 2 API processes, all on one redis-server. Per layout: jobs/s sustained by
 * closed-loop clients (submit, then long-poll until done), p50/p99 submit-to-complete latency, Redis
 * CPU per job (INFO cpu), Redis commands per job (INFO commandstats, scripts' inner calls included)
 * and the client round trips among them (MONITOR on a short extra run), network and retained bytes
 * per job (INFO stats, INFO memory), and CPU per job of the API and worker processes.
 * docs/scaling.md turns these into capacity figures.
 *   --quick        tiny counts (for the test that the mode runs)
 *   --jobs N       jobs per layout (default 400)
 *   --clients N    concurrent closed-loop clients (default 16)
 *   --out FILE     JSON output (default bench/results/queue-capacity.json)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig, projectRoot } from '../src/config.js';
import { modelQueueName } from '../src/queue/keys.js';
import { freePort, startRedisServer, type RedisServer } from '../src/redis-server.js';
import { writeTinyModelDir } from '../test/support/tiny-onnx-model.js';
import { cpuSeconds } from './service.js';
import { sharedImages, submitImage } from './shared-images.js';
import { percentile, round } from './stats.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--queue-only'),
  options: {
    quick: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    clients: { type: 'string', default: '16' },
    out: { type: 'string', default: path.join(projectRoot, 'bench/results/queue-capacity.json') },
  },
});
const jobsPerLayout = Number(args.jobs ?? (args.quick ? 24 : 400));
const clients = Number(args.clients);
const layouts = args.quick
  ? [{ workers: 1, apis: 1 }]
  : [
      { workers: 1, apis: 1 },
      { workers: 4, apis: 1 },
      { workers: 1, apis: 2 },
      { workers: 4, apis: 2 },
    ];
const log = (line: string) => process.stderr.write(`bench --queue-only: ${line}\n`);

const images = (await sharedImages()).map((b) => new Blob([new Uint8Array(b)]));
const modelDir = await writeTinyModelDir(await mkdtemp(path.join(os.tmpdir(), 'resnet-queue-tiny-')), {
  inputSize: 224,
  classes: 10,
});

interface Fleet {
  urls: string[];
  apis: ChildProcess[];
  workers: ChildProcess[];
  stop(): Promise<void>;
}

async function startFleet(redis: RedisServer, workers: number, apis: number): Promise<Fleet> {
  const env = {
    ...process.env,
    REDIS_URL: redis.url,
    MODEL_DIR: modelDir,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    INTRA_OP_THREADS: '1',
    MAX_QUEUE_DEPTH: '0',
  };
  const entry = (role: string) => path.join(projectRoot, `src/${role}/main.ts`);
  const ports = await Promise.all(Array.from({ length: apis }, () => freePort()));
  const apiProcs = ports.map((port) =>
    spawn(process.execPath, ['--import', 'tsx', entry('api')], {
      env: { ...env, PORT: String(port) },
      stdio: 'inherit',
    }),
  );
  const workerProcs = Array.from({ length: workers }, () =>
    spawn(process.execPath, ['--import', 'tsx', entry('worker')], { env, stdio: 'inherit' }),
  );
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(modelQueueName(loadConfig({}).queue.name, 'tiny-10'), { connection });
  // Ready when every API answers and every worker (model loaded) has registered on the queue.
  for (let i = 0; ; i++) {
    const apisUp = await Promise.all(
      urls.map((u) =>
        fetch(`${u}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
      ),
    );
    if (apisUp.every(Boolean) && (await queue.getWorkersCount()) >= workers) break;
    if (i > 1200 || [...apiProcs, ...workerProcs].some((p) => p.exitCode !== null)) {
      for (const p of [...apiProcs, ...workerProcs]) p.kill('SIGKILL');
      await queue.close();
      connection.disconnect();
      throw new Error('fleet did not become ready (a process exited, or 2 minutes passed)');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await queue.close();
  connection.disconnect(); // a connection handed to BullMQ is ours to close
  return {
    urls,
    apis: apiProcs,
    workers: workerProcs,
    stop: async () => {
      for (const child of [...apiProcs, ...workerProcs]) {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      }
    },
  };
}

/** Numeric fields of an INFO section. */
async function info(redis: Redis, section: string): Promise<Map<string, number>> {
  const text = await redis.info(section);
  return new Map([...text.matchAll(/^(\w+):([\d.]+)\r?$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Calls per command from INFO commandstats. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  return new Map([...text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Closed loop: each client submits, long-polls its job to the end, and starts the next. */
async function drive(
  urls: string[],
  jobs: number,
): Promise<{ seconds: number; latenciesMs: number[]; errors: number }> {
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const url = urls[c % urls.length]!;
      while (next < jobs) {
        const n = next++;
        const t0 = performance.now();
        const res = await submitImage(url, images[n % images.length]!);
        if (res.status !== 202) {
          errors++;
          await res.body?.cancel();
          continue;
        }
        const { id } = (await res.json()) as { id: string };
        let status = 202;
        let body: { status?: string } = {};
        while (status === 202) {
          const waited = await fetch(`${url}/jobs/${id}/wait?timeout=30`);
          status = waited.status;
          body = (await waited.json()) as { status?: string };
        }
        if (body.status === 'completed') latenciesMs.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latenciesMs, errors };
}

/**
 * Commands clients send (each one a network request; a pipeline sends several per round trip),
 * counted from MONITOR over a short run: script-internal calls are tagged `lua` there and excluded.
 */
async function clientCommandsPerJob(
  redis: RedisServer,
  urls: string[],
  jobs: number,
): Promise<{ perJob: number; byCommand: Record<string, number> }> {
  const client = new Redis(redis.url);
  const monitor = await client.monitor();
  const byCommand = new Map<string, number>();
  monitor.on('monitor', (_time: string, argv: string[], source: string) => {
    if (/lua/.test(source)) return;
    const name = String(argv[0]).toLowerCase();
    byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
  });
  await drive(urls, jobs);
  monitor.disconnect();
  client.disconnect();
  const total = [...byCommand.values()].reduce((s, v) => s + v, 0);
  const top = [...byCommand.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return { perJob: round(total / jobs), byCommand: Object.fromEntries(top.map(([k, v]) => [k, round(v / jobs, 2)])) };
}

const rows = [];
for (const { workers, apis } of layouts) {
  log(`${workers} worker process(es), ${apis} API process(es): ${jobsPerLayout} jobs, ${clients} clients`);
  const redis = await startRedisServer();
  const fleet = await startFleet(redis, workers, apis);
  const probe = new Redis(redis.url);
  await drive(fleet.urls, Math.min(32, jobsPerLayout)); // warm-up: JIT, connections, first batches
  const cpuBefore = await info(probe, 'cpu');
  const statsBefore = await info(probe, 'stats');
  const memBefore = (await info(probe, 'memory')).get('used_memory')!;
  const callsBefore = await commandCalls(probe);
  const procCpuBefore = await Promise.all([...fleet.apis, ...fleet.workers].map((p) => cpuSeconds(p.pid!)));
  const run = await drive(fleet.urls, jobsPerLayout);
  const cpuAfter = await info(probe, 'cpu');
  const statsAfter = await info(probe, 'stats');
  const memAfter = (await info(probe, 'memory')).get('used_memory')!;
  const callsAfter = await commandCalls(probe);
  const procCpuAfter = await Promise.all([...fleet.apis, ...fleet.workers].map((p) => cpuSeconds(p.pid!)));
  const done = run.latenciesMs.length;
  const redisCpu = (m: Map<string, number>) => (m.get('used_cpu_sys') ?? 0) + (m.get('used_cpu_user') ?? 0);
  const redisCpuSeconds = redisCpu(cpuAfter) - redisCpu(cpuBefore);
  let calls = 0;
  for (const [name, n] of callsAfter) if (name !== 'info') calls += n - (callsBefore.get(name) ?? 0);
  const procCpu = procCpuAfter.map((v, i) => v - procCpuBefore[i]!);
  const apiCpu = procCpu.slice(0, apis).reduce((s, v) => s + v, 0);
  const workerCpu = procCpu.slice(apis).reduce((s, v) => s + v, 0);
  const monitored = await clientCommandsPerJob(redis, fleet.urls, Math.min(40, jobsPerLayout));
  const netBytes =
    statsAfter.get('total_net_input_bytes')! -
    statsBefore.get('total_net_input_bytes')! +
    (statsAfter.get('total_net_output_bytes')! - statsBefore.get('total_net_output_bytes')!);
  rows.push({
    workers,
    apis,
    jobs: done,
    errors: run.errors,
    jobsPerSecond: round(done / run.seconds),
    p50Ms: round(percentile(run.latenciesMs, 50)),
    p99Ms: round(percentile(run.latenciesMs, 99)),
    redisCpuPercent: round((100 * redisCpuSeconds) / run.seconds),
    redisCpuMsPerJob: round((1000 * redisCpuSeconds) / done, 2),
    redisCommandsPerJob: round(calls / done),
    clientCommandsPerJob: monitored.perJob,
    clientCommandsByName: monitored.byCommand,
    redisNetKibPerJob: round(netBytes / done / 1024),
    redisRetainedKibPerJob: round((memAfter - memBefore) / done / 1024, 2),
    apiCpuMsPerJob: round((1000 * apiCpu) / done, 1),
    workerCpuMsPerJob: round((1000 * workerCpu) / done, 1),
  });
  probe.disconnect();
  await fleet.stop();
  await redis.stop();
}
await rm(modelDir, { recursive: true, force: true });

const header = [
  'workers',
  'APIs',
  'jobs/s',
  'p50 ms',
  'p99 ms',
  'Redis CPU %',
  'Redis CPU ms/job',
  'Redis cmds/job',
  'client cmds/job',
  'net KiB/job',
  'kept KiB/job',
  'API CPU ms/job',
  'worker CPU ms/job',
  'errors',
];
const table = [
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => {
    const cells = [
      r.workers,
      r.apis,
      r.jobsPerSecond,
      r.p50Ms,
      r.p99Ms,
      r.redisCpuPercent,
      r.redisCpuMsPerJob,
      r.redisCommandsPerJob,
      r.clientCommandsPerJob,
      r.redisNetKibPerJob,
      r.redisRetainedKibPerJob,
      r.apiCpuMsPerJob,
      r.workerCpuMsPerJob,
      r.errors,
    ];
    return `| ${cells.join(' | ')} |`;
  }),
];
process.stdout.write(
  `\nQueue capacity (tiny ONNX model, ${jobsPerLayout} jobs per layout, ${clients} closed-loop clients, ` +
    `${os.availableParallelism()} cores):\n${table.join('\n')}\n`,
);
await mkdir(path.dirname(args.out), { recursive: true });
await writeFile(
  args.out,
  JSON.stringify(
    { when: new Date().toISOString(), cores: os.availableParallelism(), jobsPerLayout, clients, rows },
    null,
    2,
  ),
);
log(`wrote ${args.out}`);
