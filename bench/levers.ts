/**
 * Each lever of issue 20 on its own, old way against new way, in one process and one run, the two
 * alternating round by round: CPU time per operation (this process, and Redis's own from INFO
 * where Redis is involved). On a shared machine whole-service CPU per image moves by more than
 * any one of these levers saves; these figures isolate them. `tsx bench/levers.ts [rounds]`.
 * Prints one JSON object: per lever, the per-round figures of each variant and their medians.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import helmet from 'helmet';
import { pino } from 'pino';
import zlib from 'node:zlib';
import { Job, Queue, type JobState } from 'bullmq';
import { Redis } from 'ioredis';
import path from 'node:path';
import { projectRoot } from '../src/config.js';
import { loadManifest } from '../src/model/manifest.js';
import { inspectImage, prepareImage } from '../src/model/preprocess.js';
import { jobViewScript } from '../src/jobs/job-store.js';
import { readJobHash, toJobView } from '../src/jobs/job-view.js';
import { topK } from '../src/model/top-k.js';
import { startRedisServer } from '../src/redis-server.js';
import { sharedImages } from './shared-images.js';
import { percentile, round } from './stats.js';

const rounds = Number(process.argv[2] ?? 5);
/** `LEVERS=<text>`: run only the levers whose name contains it. */
const only = process.env['LEVERS'] ?? '';
const images = await sharedImages();
const manifest = await loadManifest(path.resolve(projectRoot, '../shared/models/resnet50-v1.5-int8'));
const limits = { maxImagePixels: 100_000_000 };

/** CPU ms per call of `run` over `n` calls (this process, all its threads: libuv's pool included). */
async function cpuPerCall(n: number, run: (i: number) => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await run(i);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000 / n;
}

type Variants = Record<string, () => Promise<number>>;
const results: Record<string, Record<string, { rounds: number[]; median: number }>> = {};
async function lever(name: string, variants: Variants) {
  if (!name.includes(only)) return;
  const perRound: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) for (const [v, run] of Object.entries(variants)) perRound[v]!.push(await run());
  results[name] = Object.fromEntries(
    Object.entries(perRound).map(([v, xs]) => [
      v,
      { rounds: xs.map((x) => round(x, 3)), median: round(percentile(xs, 50), 3) },
    ]),
  );
  const medians = Object.fromEntries(Object.entries(results[name]).map(([v, x]) => [v, x.median]));
  process.stderr.write(`levers: ${name} ${JSON.stringify(medians)}\n`);
}

// The header read twice (before) or once (after): inspectImage's cost is what the second read added.
const headers = await Promise.all(images.map((b) => inspectImage(b, limits)));
await lever('prepareImage per image (ms CPU): header read twice vs once', {
  twice: () =>
    cpuPerCall(60, async (i) =>
      inspectImage(images[i % images.length]!, limits).then(() =>
        prepareImage(images[i % images.length]!, manifest, limits),
      ),
    ),
  once: () =>
    cpuPerCall(60, async (i) =>
      inspectImage(images[i % images.length]!, limits).then(() =>
        prepareImage(images[i % images.length]!, manifest, limits, headers[i % images.length]),
      ),
    ),
});

// The crop codec with zlib's default 16 KiB chunks (before) or one chunk each way (after), real crops.
const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw);
const crops = await Promise.all(images.map(async (b) => inflateRaw((await prepareImage(b, manifest, limits)).crop)));
const codec = (chunked: boolean) => () =>
  cpuPerCall(200, async (i) => {
    const pixels = crops[i % crops.length]!;
    const size = chunked ? {} : { chunkSize: pixels.length + 1024 };
    const stored = await deflateRaw(pixels, { strategy: zlib.constants.Z_HUFFMAN_ONLY, ...size });
    await inflateRaw(stored, { maxOutputLength: pixels.length, ...(chunked ? {} : { chunkSize: pixels.length }) });
  });
await lever('crop encode + decode (ms CPU): 16 KiB chunks vs one chunk', {
  chunks16k: codec(true),
  oneChunk: codec(false),
});

// The worker's inflate: in libuv's pool (one chunk) or on its own, mostly idle, main thread.
const storedCrops = crops.map((pixels) => zlib.deflateRawSync(pixels, { strategy: zlib.constants.Z_HUFFMAN_ONLY }));
await lever('crop inflate in the worker (ms CPU): libuv pool vs main thread', {
  pool: () => cpuPerCall(300, (i) => inflateRaw(storedCrops[i % crops.length]!, { chunkSize: crops[0]!.length })),
  mainThread: () =>
    cpuPerCall(300, (i) =>
      Promise.resolve(zlib.inflateRawSync(storedCrops[i % crops.length]!, { chunkSize: crops[0]!.length })),
    ),
});

// Top-k of 1000 classes: a full sort (before) or a selection (after).
const logits = new Float32Array(1000).map(() => Math.random() * 20 - 10);
const sortTopK = (k: number) => {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const exp = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) exp[i] = Math.exp(logits[i]! - max);
  return Array.from(exp.keys())
    .sort((a, b) => exp[b]! - exp[a]!)
    .slice(0, k);
};
await lever('top-5 of 1000 logits (ms CPU)', {
  fullSort: () => cpuPerCall(2000, () => Promise.resolve(sortTopK(5))),
  selection: () => cpuPerCall(2000, () => Promise.resolve(topK(logits, [], 5))),
});

// Reading a job for a view: BullMQ's state script then the hash (before), or one script (after).
const server = await startRedisServer();
const redis = new Redis(server.url);
const queue = new Queue('levers', { connection: redis });
const finished = await queue.add('j', { topk: 5 }, { jobId: 'finished' });
await redis.zadd(queue.keys.completed!, Date.now(), finished.id!);
await queue.add('j', { topk: 5 }, { jobId: 'queued' });

const redisCpuMs = async () => {
  const info = await redis.info('cpu');
  const f = (n: string) => Number(new RegExp(`^${n}:([\\d.]+)`, 'm').exec(info)![1]);
  return (f('used_cpu_sys') + f('used_cpu_user')) * 1000;
};
/** Client CPU + Redis CPU per read. */
const reads = (id: string, read: (id: string) => Promise<unknown>) => async () => {
  const before = await redisCpuMs();
  const client = await cpuPerCall(400, () => read(id));
  return client + ((await redisCpuMs()) - before) / 400;
};
const oldRead = async (id: string) => {
  await queue.getJobState(id);
  return Job.fromId(queue, id);
};
const newRead = (id: string) =>
  redis.eval(jobViewScript, 4, queue.toKey(id), queue.keys.completed!, queue.keys.failed!, queue.keys.active!, id);
await lever('job read, finished job (ms CPU, client + Redis)', {
  stateThenHash: reads('finished', oldRead),
  oneScript: reads('finished', newRead),
});
await lever('job read, queued job (ms CPU, client + Redis)', {
  stateThenHash: reads('queued', oldRead),
  oneScript: reads('queued', newRead),
});
// A long-poll's view once the completed event arrived: the whole job read again (the view script, its hash parsed)
// before, or the event's result (already parsed by QueueEvents) and an HMGET of the two timestamps it lacks (after).
// A real completed job: its data and a top-5 result as the worker writes them.
const result = {
  model: 'resnet50-v1.5-int8',
  precision: 'int8',
  predictions: Array.from({ length: 5 }, (_, i) => ({
    classId: 900 + i,
    label: `class number ${i}`,
    probability: 0.2 - i / 50,
  })),
  batchSize: 8,
  inferenceMs: 61.25,
  marks: { pickedUpAt: 1, inputAt: 2, batchStartAt: 3, batchEndAt: 4 },
};
const done = await queue.add('classify', { topk: 5, owner: 'owner-digest-prefix' }, { jobId: 'done', attempts: 2 });
const doneAt = Date.now();
await redis.hset(queue.toKey('done'), {
  processedOn: doneAt - 80,
  finishedOn: doneAt,
  returnvalue: JSON.stringify(result),
});
await redis.zadd(queue.keys.completed!, doneAt, done.id!);
const previous = toJobView(readJobHash('done', await redis.hgetall(queue.toKey('done')))!.job, 'waiting');
const wholeRead = async () => {
  const [state, fields] = (await newRead('done')) as [JobState, string[]];
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) hash[fields[i]!] = fields[i + 1]!;
  return toJobView(readJobHash('done', hash)!.job, state);
};
const fromEvent = async () => {
  const [processedOn, finishedOn] = await redis.hmget(queue.toKey('done'), 'processedOn', 'finishedOn');
  const job = {
    id: previous.id,
    timestamp: Date.parse(previous.createdAt),
    processedOn: Number(processedOn),
    finishedOn: Number(finishedOn),
    failedReason: '',
    returnvalue: result,
  };
  return toJobView(job, 'completed');
};
if (JSON.stringify(await wholeRead()) !== JSON.stringify(await fromEvent())) throw new Error('the two views differ');
await lever('view after the completed event (ms CPU, client + Redis)', {
  wholeRead: reads('done', wholeRead),
  eventAndHmget: reads('done', fromEvent),
});
// What one small round trip costs the caller (the live-worker check, the kept-outcome read).
await lever('one small round trip, ZCOUNT (ms CPU, client + Redis)', {
  zcount: reads('x', () => redis.zcount('levers:live-workers', Date.now(), '+inf')),
  none: () => Promise.resolve(0),
});

// ioredis auto-pipelining on the API's command connection: 16 submissions at once (the bench's C=16), each the
// submit's sequence of round trips (early queue-full count, admission script, two SETs, BullMQ's addJob, release).
const crop = Buffer.alloc(100_000, 7);
const admission = `redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) return redis.call('ZCARD', KEYS[1])`;
let submitted = 0;
const submissions = (enableAutoPipelining: boolean) => async () => {
  const connection = new Redis(server.url, { enableAutoPipelining });
  const q = new Queue('levers-submit', { connection });
  await q.waitUntilReady();
  const submit = async () => {
    const id = `s${submitted++}`;
    await q.getJobCounts('waiting', 'prioritized', 'delayed');
    await connection.eval(admission, 1, 'levers:admitted', Date.now(), id);
    await Promise.all([connection.set(`levers:input:${id}`, crop), connection.set(`levers:model:${id}`, 'int8')]);
    await q.add('j', { topk: 5 }, { jobId: id });
    await connection.zrem('levers:admitted', id);
  };
  const before = await redisCpuMs();
  const client = await cpuPerCall(60, () => Promise.all(Array.from({ length: 16 }, submit)));
  const perSubmit = client / 16 + ((await redisCpuMs()) - before) / (60 * 16);
  await q.obliterate({ force: true });
  await redis.eval(`for _, k in ipairs(redis.call('KEYS', 'levers:input:*')) do redis.call('DEL', k) end`, 0);
  await q.close();
  connection.disconnect();
  return perSubmit;
};
await lever('16 concurrent submissions (ms CPU per submission, client + Redis): auto-pipelining off vs on', {
  off: submissions(false),
  on: submissions(true),
});
// A submission's two SETs (job-model index, then the crop) one after the other or sent together, one caller.
const pipelined = new Redis(server.url, { enableAutoPipelining: true });
const stores = (together: boolean) => async () => {
  const before = await redisCpuMs();
  const client = await cpuPerCall(400, async (i) => {
    const index = () => pipelined.set(`levers:model:${i}`, 'int8', 'EX', 60);
    const input = () => pipelined.set(`levers:input:${i}`, crop, 'EX', 60);
    if (together) await Promise.all([index(), input()]);
    else await index().then(input);
  });
  return client + ((await redisCpuMs()) - before) / 400;
};
await lever('the two SETs of a submission (ms CPU, client + Redis): in turn vs together', {
  inTurn: stores(false),
  together: stores(true),
});
pipelined.disconnect();

// Per-request middleware: the request log line (pino, synchronous write as in production, or pino's
// asynchronous destination) and helmet's headers (helmet per response, or its headers computed once and copied).
const logLines = (sync: boolean) => async () => {
  const destination = pino.destination({ dest: '/dev/null', sync, minLength: sync ? 0 : 4096 });
  if (!sync) await new Promise((resolve) => destination.once('ready', resolve));
  const log = pino({ level: 'info', base: { role: 'api', pid: process.pid } }, destination);
  const perLine = await cpuPerCall(20_000, (i) =>
    Promise.resolve(
      log.child({ reqId: `r${i}` }).info({ method: 'POST', path: '/jobs', status: 202, ms: 12.3 }, 'request'),
    ),
  );
  destination.flushSync();
  destination.end();
  return perLine;
};
await lever('request log line (ms CPU, to /dev/null): synchronous vs asynchronous destination', {
  sync: logLines(true),
  async: logLines(false),
});
const helmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"], 'object-src': ["'none'"] },
  },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
};
const perResponse = helmet(helmetOptions);
const response = () => new ServerResponse(new IncomingMessage(new Socket()));
const sample = response();
perResponse(sample.req, sample, () => undefined);
const computed = Object.entries(sample.getHeaders());
await lever('security headers per response (ms CPU): helmet each time vs computed once', {
  helmet: () =>
    cpuPerCall(20_000, () => {
      const res = response();
      return new Promise<void>((resolve) => perResponse(res.req, res, () => resolve()));
    }),
  computedOnce: () =>
    cpuPerCall(20_000, () => {
      const res = response();
      for (const [name, value] of computed) res.setHeader(name, value!);
      return Promise.resolve();
    }),
  bareResponse: () => cpuPerCall(20_000, () => Promise.resolve(response())),
});
await queue.close();
redis.disconnect();
await server.stop();
process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
