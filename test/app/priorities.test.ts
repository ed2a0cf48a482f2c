import { Job } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bullmqPriority } from '../../src/queue/job-schemas.js';
import { coffee } from '../support/fixtures.js';
import { get, postImage, type ErrorBody, type JobBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

/** Small batches, and a worker that holds one batch's worth of jobs: "two batches" is then 8 jobs. */
const maxBatch = 4;
let api: InProcessApi;
let photo: Buffer;

beforeAll(async () => {
  api = await startInProcessApi(
    testConfig(inject('redisUrl'), {
      MAX_BATCH: String(maxBatch),
      WORKER_CONCURRENCY: String(maxBatch),
      MAX_QUEUE_DEPTH: '0',
    }),
  );
  photo = await sharp(await coffee())
    .resize(96)
    .jpeg()
    .toBuffer();
});
afterAll(async () => {
  await api?.close();
});

async function bullJob(id: string): Promise<Job> {
  const job = await Job.fromId(api.connected.deps.operators.queues[0]!, id);
  if (!job) throw new Error(`job ${id} is gone`);
  return job;
}

describe('priorities', () => {
  it('priority is read from the query, a multipart field, and defaults to interactive', async () => {
    const fromQuery = await postImage(api.url, photo, { query: '?priority=bulk' });
    const form = new FormData();
    form.append('priority', 'bulk');
    form.append('image', new Blob([new Uint8Array(photo)]), 'a.jpg');
    const fromField = (await (await fetch(`${api.url}/jobs`, { method: 'POST', body: form })).json()) as JobBody;
    const plain = await postImage(api.url, photo);
    expect((await bullJob(fromQuery.body.id)).priority).toBe(bullmqPriority.bulk);
    expect((await bullJob(fromField.id)).priority).toBe(bullmqPriority.bulk);
    expect((await bullJob(plain.body.id)).priority).toBe(bullmqPriority.interactive);
    const bad = await postImage<ErrorBody>(api.url, photo, { query: '?priority=urgent' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('priority') as string,
    });
    await api.connected.deps.operators.queues[0]!.drain();
  });

  it('with 200 bulk jobs queued, a new interactive job completes within the next two batches', async () => {
    const bulk: string[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await postImage(api.url, photo, { query: '?priority=bulk' });
      expect(res.status).toBe(202);
      bulk.push(res.body.id);
    }
    await api.startWorker();
    // The worker is busy with the bulk backlog once the first bulk job has finished.
    expect((await get(api.url, `/jobs/${bulk[0]}/wait?timeout=60`)).body.status).toBe('completed');
    const submitted = await postImage(api.url, photo);
    expect(submitted.status).toBe(202);
    const done = await get(api.url, `/jobs/${submitted.body.id}/wait?timeout=60`);
    expect(done.body.status).toBe('completed');

    const interactive = await bullJob(submitted.body.id);
    const bulkJobs = await Promise.all(bulk.map((id) => Job.fromId(api.connected.deps.operators.queues[0]!, id)));
    // Bulk jobs that finished after the interactive one was submitted and before it finished:
    // what it had to wait for. The worker held at most one batch when it arrived, so at most that
    // batch and the one it then joined (its batch-mates may finish a moment before it) are ahead.
    const overtaking = bulkJobs.filter(
      (j) => j?.finishedOn && j.finishedOn >= interactive.timestamp && j.finishedOn <= interactive.finishedOn!,
    );
    expect(overtaking.length).toBeLessThanOrEqual(2 * maxBatch);
    const stillQueued = bulkJobs.filter((j) => !j?.finishedOn || j.finishedOn > interactive.finishedOn!);
    expect(stillQueued.length).toBeGreaterThan(100);
  });
});
