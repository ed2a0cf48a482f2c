import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultJobQueue } from '../support/paths.js';
import {
  completionCounter,
  report,
  startCluster,
  stopProc,
  submitMany,
  tally,
  waitAllTerminal,
  waitForLog,
  type Cluster,
} from './harness.js';

const redisUrl = inject('redisUrl');
/**
 * Shorter than the other fault tests': a killed worker's jobs are free again after the lock
 * expires plus one stalled check. The lock is still renewed every second, far more often than a
 * live worker could miss (inference runs off its event loop). A shutdown that overruns
 * SHUTDOWN_TIMEOUT_MS exits 1, so exit code 0 means "within 10 s".
 */
const workerFaultEnv = { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', SHUTDOWN_TIMEOUT_MS: '10000' };

describe('worker faults', () => {
  let cluster: Cluster;
  let redis: Redis;
  let queue: Queue;
  beforeAll(async () => {
    cluster = await startCluster(redisUrl, workerFaultEnv);
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    queue = new Queue(defaultJobQueue(cluster.queueName), { connection: redis });
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await cluster.stop();
  });

  it('SIGKILL in the middle of a batch: its jobs are recovered as stalled and complete, once each', async () => {
    const counter = await completionCounter(redisUrl, cluster.queueName);
    // Whatever the test order, the victim is the only worker when the jobs arrive.
    for (const w of cluster.workers) await stopProc(w);
    const jobs = await submitMany(cluster.url, 100);
    const victim = cluster.startWorker();
    await waitForLog(victim, /"msg":"batch"/);
    const heldAtKill = (await queue.getActive()).map((j) => j.id!);
    expect(heldAtKill.length).toBeGreaterThan(0);
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    cluster.startWorker();

    const views = await waitAllTerminal(cluster.url, jobs);
    const counts = tally(jobs, views, counter.counts);
    await counter.close();
    const recovered = heldAtKill.map((id) => views.get(id)).filter((v) => v?.status === 'completed');
    // Recovery: until the last of the dead worker's jobs was running again on a live worker.
    const recoverySeconds = (Math.max(...recovered.map((v) => Date.parse(v!.startedAt!))) - killedAt) / 1000;
    await report({
      fault:
        `worker SIGKILL mid-batch (LOCK_DURATION_MS=${workerFaultEnv.LOCK_DURATION_MS}, ` +
        `STALLED_INTERVAL_MS=${workerFaultEnv.STALLED_INTERVAL_MS})`,
      happened: `${heldAtKill.length} jobs held by the killed worker were recovered as stalled by a second worker`,
      submitted: jobs.length,
      ...counts,
      recoverySeconds,
    });
    expect(counts).toMatchObject({ completed: 100, failed: 0, wrong: 0, duplicated: 0, lost: 0 });
    expect(recovered).toHaveLength(heldAtKill.length);
  });

  it('SIGTERM: the worker stops taking jobs, finishes the jobs in hand, and exits 0 promptly', async () => {
    const counter = await completionCounter(redisUrl, cluster.queueName);
    for (const w of cluster.workers) await stopProc(w);
    const jobs = await submitMany(cluster.url, 60);
    const worker = cluster.startWorker();
    await waitForLog(worker, /"msg":"batch"/);
    const held = (await queue.getActive()).map((j) => j.id!);
    const sentAt = Date.now();
    worker.child.kill('SIGTERM');
    // Exit code 0: it finished the jobs in hand before SHUTDOWN_TIMEOUT_MS would have forced it out.
    const code = await new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    const exitSeconds = (Date.now() - sentAt) / 1000;
    expect(code).toBe(0);
    for (const id of held) expect(await queue.getJobState(id), id).toBe('completed');
    expect(await queue.getActiveCount()).toBe(0);
    const waitingAfter = await queue.getWaitingCount();
    expect(waitingAfter).toBeGreaterThan(0);

    cluster.startWorker();
    const views = await waitAllTerminal(cluster.url, jobs);
    const counts = tally(jobs, views, counter.counts);
    await counter.close();
    await report({
      fault: 'worker SIGTERM under load',
      happened:
        `exited 0 after ${exitSeconds.toFixed(1)} s with its ${held.length} held jobs completed; ` +
        `${waitingAfter} left queued for the next worker`,
      submitted: jobs.length,
      ...counts,
      recoverySeconds: null,
    });
    expect(counts).toMatchObject({ completed: 60, failed: 0, wrong: 0, duplicated: 0, lost: 0 });
  });
});
