import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort } from '../../src/redis-server.js';
import { get, image, postImage, type JobBody } from '../support/http.js';
import { defaultJobQueue, expectedTop1, outputDir } from '../support/paths.js';
import { spawnEntry, stopChild, waitForReady } from '../support/service.js';
import { narrate } from '../support/narrate.js';

export type Proc = ReturnType<typeof spawnEntry>;

/** Fault tests use short lock and stall intervals so recovery is measured in seconds. */
export const faultEnv = { LOCK_DURATION_MS: '4000', STALLED_INTERVAL_MS: '2000', LOG_LEVEL: 'info' };

export interface Cluster {
  url: string;
  queueName: string;
  redisUrl: string;
  api: Proc;
  workers: Proc[];
  startApi(): Promise<Proc>;
  startWorker(): Proc;
  stop(): Promise<void>;
}

export async function startCluster(redisUrl: string, env: Record<string, string> = {}): Promise<Cluster> {
  const queueName = `fault-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const common = { REDIS_URL: redisUrl, QUEUE_NAME: queueName, ...faultEnv, ...env };
  const cluster: Cluster = {
    url,
    queueName,
    redisUrl,
    api: undefined as unknown as Proc,
    workers: [],
    async startApi() {
      // Fault tests submit while workers are down on purpose: the API keeps accepting (no 503 no_worker).
      const api = spawnEntry('api/main', {
        ...common,
        PORT: String(port),
        HOST: '127.0.0.1',
        WORKER_GRACE_SECONDS: '3600',
      });
      // Alive is enough: most fault tests start the API before any worker, so it is not ready yet.
      await waitForReady(url, api.child, api.output, 60_000, '/healthz');
      cluster.api = api;
      return api;
    },
    startWorker() {
      const worker = spawnEntry('worker/main', common);
      cluster.workers.push(worker);
      return worker;
    },
    async stop() {
      for (const p of [cluster.api, ...cluster.workers]) if (p) await stopChild(p.child);
    },
  };
  await cluster.startApi();
  return cluster;
}

/** Polls the output for `pattern`; fails early if the process exits first. */
export async function waitForLog(proc: Proc, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(proc.output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${proc.output().slice(-3000)}`);
    if (proc.child.exitCode !== null) throw new Error(`exited before ${pattern}:\n${proc.output().slice(-3000)}`);
    await sleep(20);
  }
}

/**
 * Connections to 127.0.0.1:`port` whose received bytes the server has not read yet (Linux,
 * /proc/net/tcp). Zero once the server has taken in every request sent to it: Node parses a
 * request in the turn that reads it.
 */
export async function unreadConnections(port: number): Promise<number> {
  const rows = (await readFile('/proc/net/tcp', 'utf8')).trim().split('\n').slice(1);
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return rows
    .map((row) => row.trim().split(/\s+/))
    .filter(([, address, , state, queues]) => address === local && state === '01' && !queues!.endsWith(':00000000'))
    .length;
}

export interface Submitted {
  id: string;
  expected: readonly string[];
}

/** Submits n real images (round robin over the shared photos), 10 at a time. */
export async function submitMany(url: string, n: number): Promise<Submitted[]> {
  const names = Object.keys(expectedTop1);
  const bytes = await Promise.all(names.map(image));
  const out: Submitted[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, k) => postImage(url, bytes[(i + k) % names.length])),
    );
    batch.forEach((res, k) => {
      if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
      out.push({ id: res.body.id, expected: expectedTop1[names[(i + k) % names.length]!]! });
    });
  }
  return out;
}

/** Reads every job until all are terminal (or the time runs out); returns their last views. */
export async function waitAllTerminal(
  url: string,
  jobs: readonly Submitted[],
  timeoutMs = 120_000,
): Promise<Map<string, JobBody>> {
  const views = new Map<string, JobBody>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = jobs.filter((j) => !['completed', 'failed'].includes(views.get(j.id)?.status ?? ''));
    if (pending.length === 0 || Date.now() > deadline) return views;
    for (const job of pending) {
      const res = await get(url, `/jobs/${job.id}`).catch(() => undefined);
      if (res?.status === 200) views.set(job.id, res.body);
    }
    await sleep(250);
  }
}

/**
 * Counts `completed` events per job, straight from the default model's queue's event stream
 * (`queueName` is QUEUE_NAME).
 */
export async function completionCounter(
  redisUrl: string,
  queueName: string,
): Promise<{ counts: Map<string, number>; close(): Promise<void> }> {
  // From the start of the stream, so no completion is missed whenever the counter starts.
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // Redis restarts in these tests: its reconnects are expected, not news for the test output.
  connection.on('error', () => undefined);
  const events = new QueueEvents(defaultJobQueue(queueName), { connection, lastEventId: '0' });
  events.on('error', () => undefined);
  const counts = new Map<string, number>();
  events.on('completed', ({ jobId }) => counts.set(jobId, (counts.get(jobId) ?? 0) + 1));
  await events.waitUntilReady();
  return { counts, close: () => events.close() };
}

export interface FaultRow {
  fault: string;
  happened: string;
  submitted: number;
  completed: number;
  failed: number;
  duplicated: number;
  recoverySeconds: number | null;
}

/** Asserts the promise of the faults suite and returns the counts for the report. */
export function tally(jobs: readonly Submitted[], views: Map<string, JobBody>, completions: Map<string, number>) {
  let completed = 0;
  let failed = 0;
  let wrong = 0;
  let duplicated = 0;
  let lost = 0;
  for (const job of jobs) {
    const view = views.get(job.id);
    if (view?.status === 'completed') {
      completed++;
      if (!job.expected.includes(view.result!.predictions[0]!.label)) wrong++;
    } else if (view?.status === 'failed') failed++;
    else lost++;
    if ((completions.get(job.id) ?? 0) > 1) duplicated++;
  }
  return { completed, failed, wrong, duplicated, lost };
}

export async function report(row: FaultRow): Promise<void> {
  await mkdir(outputDir, { recursive: true });
  await appendFile(path.join(outputDir, 'faults.jsonl'), `${JSON.stringify(row)}\n`);
  narrate(`fault report: ${JSON.stringify(row)}\n`);
}

export async function stopProc(proc: Proc): Promise<number | null> {
  return stopChild(proc.child);
}
