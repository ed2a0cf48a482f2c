/**
 * Where one lone request's time goes (C=1): `tsx bench/c1-trace.ts [requests] [--prefer-wait]
 * [--service-root DIR]` starts the service (redis-server, one worker, the API; this checkout's
 * src/, or DIR's), sends the shared
 * photos one after another, each as POST /jobs then GET /jobs/:id/wait (or one POST with
 * `Prefer: wait`), and splits each request's time on one clock (one host: epoch ms compare) with
 * the client's own timestamps, the job's BullMQ timestamps and the worker's marks (job result):
 *   accept   client sends the POST -> the API adds the job (job.timestamp: upload, decode, store)
 *   pick-up  job added -> the worker's processor starts (blocking fetch, moveToActive)
 *   input    processor start -> crop read and decoded; batch: -> forward pass starts
 *   engine   the forward pass, hand-off to the inference thread included
 *   finish   forward pass ends -> BullMQ records completed (job.finishedOn)
 *   answer   finishedOn -> the client holds the answer (event delivery, the view read, HTTP)
 * and, apart, when the POST's answer reached the client against those marks. Prints medians (ms)
 * and the CPU per request of the API, the worker and Redis (/proc) as JSON; the first 10 requests
 * warm up and are not counted.
 */
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { projectRoot } from '../src/config.js';
import { loadManifest } from '../src/model/manifest.js';
import { modelQueueName } from '../src/queue/keys.js';
import type { JobResult } from '../src/queue/job-schemas.js';
import { cpuSeconds, startBenchService } from './service.js';
import { sharedImages, submitImage } from './shared-images.js';
import { percentile, round } from './stats.js';

const preferWait = process.argv.includes('--prefer-wait');
const rootAt = process.argv.indexOf('--service-root');
const serviceRoot = rootAt > 0 ? path.resolve(process.argv[rootAt + 1]!) : projectRoot;
const requests = Number(process.argv[2] !== undefined && /^\d+$/.test(process.argv[2]) ? process.argv[2] : 60);
const warmup = 10;
const modelDir = process.env['TRACE_MODEL_DIR'] ?? path.resolve(projectRoot, '../shared/models/resnet50-v1.5-int8');
const queueName = modelQueueName('classify', (await loadManifest(modelDir)).name);
const images = (await sharedImages()).map((b) => new Blob([new Uint8Array(b)]));

const service = await startBenchService({ MODEL_DIR: modelDir }, 1, serviceRoot);
const redis = new Redis(service.redisUrl);
const queue = new Queue(queueName, { connection: redis });
const rows: Record<string, number>[] = [];
/** CPU seconds so far of the API, the worker and redis-server. */
const processCpu = () =>
  Promise.all([service.api.pid!, service.workers[0]!.pid!, service.redisPid].map((pid) => cpuSeconds(pid)));
let cpuAtStart: number[] = [];
let cpuPerRequestMs: Record<string, number> | undefined;
try {
  for (let i = 0; i < requests + warmup; i++) {
    const sent = Date.now();
    const posted = await submitImage(service.url, images[i % images.length]!, preferWait ? { Prefer: 'wait=60' } : {});
    const timing: Record<string, number> = {};
    for (const m of (posted.headers.get('server-timing') ?? '').matchAll(/([\w-]+);dur=([\d.]+)/g))
      timing[m[1]!] = Number(m[2]);
    const postBody = (await posted.json()) as { id: string; status: string };
    const postAnswered = Date.now();
    if (!preferWait) {
      const waited = await fetch(`${service.url}/jobs/${postBody.id}/wait?timeout=60`);
      for (const m of (waited.headers.get('server-timing') ?? '').matchAll(/([\w-]+);dur=([\d.]+)/g))
        timing[m[1]!] = Number(m[2]);
      const view = (await waited.json()) as { status: string };
      if (view.status !== 'completed') throw new Error(`job ${postBody.id} ended ${view.status}`);
    } else if (postBody.status !== 'completed') throw new Error(`job ${postBody.id} answered ${postBody.status}`);
    const done = Date.now();
    if (i === warmup - 1) cpuAtStart = await processCpu();
    if (i < warmup) continue;
    const job = await Job.fromId<unknown, JobResult>(queue, postBody.id);
    const marks = job?.returnvalue?.marks;
    if (!job?.processedOn || !job.finishedOn || !marks) throw new Error(`job ${postBody.id} lacks its timestamps`);
    rows.push({
      accept: job.timestamp - sent,
      'of which upload read (API)': timing['upload'] ?? NaN,
      'of which decode + crop (API)': timing['preprocess'] ?? NaN,
      'enqueue (API, until the answer)': timing['enqueue'] ?? NaN,
      'pick-up': marks.pickedUpAt - job.timestamp,
      'of which moveToActive -> processor': marks.pickedUpAt - job.processedOn,
      input: marks.inputAt - marks.pickedUpAt,
      batch: marks.batchStartAt - marks.inputAt,
      engine: marks.batchEndAt - marks.batchStartAt,
      finish: job.finishedOn - marks.batchEndAt,
      answer: done - job.finishedOn,
      'of which event + view read (API)': timing['event'] ?? NaN,
      total: done - sent,
      'POST answered, after job added': postAnswered - job.timestamp,
      'POST answered, before job finished': job.finishedOn - postAnswered,
    });
  }
  const cpuAtEnd = await processCpu();
  const perRequest = (i: number) => round(((cpuAtEnd[i]! - cpuAtStart[i]!) * 1000) / rows.length, 2);
  cpuPerRequestMs = { api: perRequest(0), worker: perRequest(1), redis: perRequest(2) };
} finally {
  await queue.close();
  redis.disconnect();
  await service.stop();
}
const names = Object.keys(rows[0] ?? {});
const median = (n: string) =>
  round(
    percentile(
      rows.map((r) => r[n]!),
      50,
    ),
    2,
  );
process.stdout.write(
  `${JSON.stringify(
    {
      shape: preferWait ? 'Prefer: wait' : 'POST + /wait',
      requests: rows.length,
      cpuPerRequestMs,
      medians: Object.fromEntries(names.map((n) => [n, median(n)])),
    },
    null,
    1,
  )}\n`,
);
