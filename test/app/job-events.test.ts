import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { jobViewScript } from '../../src/jobs/job-store.js';
import { get, image, postImage, type ErrorBody, type JobBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

/**
 * GET /jobs/:id/events (issue 9 §4): Server-Sent Events driven by the shared QueueEvents. The
 * worker starts only once the stream has shown `queued`, and a lone job waits MAX_BATCH_DELAY_MS
 * for company while active, so every state is observable without timing assumptions.
 */
/** Each test gets its own service (its own queue), so what one starts or stops never reaches another. */
const services: InProcessApi[] = [];
async function serve(env: Record<string, string> = {}): Promise<InProcessApi> {
  const api = await startInProcessApi(
    testConfig(inject('redisUrl'), {
      API_KEYS: 'alpha-key-0123456789,beta-key-9876543210',
      // Submissions are accepted while no worker runs.
      WORKER_GRACE_SECONDS: '3600',
      ...env,
    }),
  );
  services.push(api);
  return api;
}
afterAll(() => Promise.all(services.map((api) => api.close())));

const alpha = { Authorization: 'Bearer alpha-key-0123456789' };
const beta = { Authorization: 'Bearer beta-key-9876543210' };

interface SseEvent {
  event: string;
  data: JobBody;
}

/** Reads a text/event-stream response, one parsed event at a time (comments skipped). */
async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = new Map(
        block
          .split('\n')
          .filter((l) => !l.startsWith(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
      );
      if (fields.has('event')) yield { event: fields.get('event')!, data: JSON.parse(fields.get('data')!) as JobBody };
    }
  }
}

async function submit(api: InProcessApi, headers = alpha): Promise<JobBody> {
  const submitted = await postImage(api.url, await image('coffee.png'), { headers });
  expect(submitted.status).toBe(202);
  return submitted.body;
}

describe('GET /jobs/:id/events', () => {
  it('streams queued, active, completed with the job view, then ends; one listener per event type', async () => {
    const api = await serve({ MAX_BATCH_DELAY_MS: '1500' });
    const listeners = api.deps.waiter.listenerCount;
    const job = await submit(api);
    const res = await fetch(`${api.url}/jobs/${job.id}/events`, { headers: alpha });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream(;|$)/);
    const seen: SseEvent[] = [];
    for await (const event of sseEvents(res)) {
      seen.push(event);
      // Started only now: the stream must report the job picked up, not poll for it.
      if (event.event === 'queued') await api.startWorker();
    }
    expect(seen.map((e) => e.event)).toEqual(['queued', 'active', 'completed']);
    for (const e of seen) expect(e.data.status).toBe(e.event);
    expect(seen[1]!.data.startedAt).toBeDefined();
    const final = await get(api.url, `/jobs/${job.id}`, { headers: alpha });
    expect(seen[2]!.data).toEqual(final.body);
    expect(final.body.result!.predictions[0]!.label).toBe('espresso');
    expect(api.deps.waiter.listenerCount).toBe(listeners);
    expect(api.deps.waiter.size).toBe(0);
  });

  it("a long-poll builds the completed view from the event's result and one HMGET, not a whole read", async () => {
    const api = await serve();
    const job = await submit(api);
    const monitor = await new Redis(inject('redisUrl')).monitor();
    // What the API asked Redis about this job: the view script's whole reads, the HMGET of two timestamps.
    const reads: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (!args.some((a) => a.endsWith(`:${job.id}`))) return;
      // MONITOR shows the script with its newlines escaped.
      if (args[0]?.toLowerCase() === 'eval' && args[1] === jobViewScript.replaceAll('\n', '\\n'))
        reads.push('view script');
      if (args[0]?.toLowerCase() === 'hmget' && args.includes('finishedOn')) reads.push('hmget of the timestamps');
    });
    try {
      const waited = get(api.url, `${job.links.wait}?timeout=60`, { headers: alpha });
      // The first read (queued) is done before the job can run, so the completion is an event.
      await vi.waitFor(() => expect(reads).toEqual(['view script']), { timeout: 10_000 });
      await api.startWorker();
      const { status, body } = await waited;
      expect(status).toBe(200);
      expect(body.status).toBe('completed');
      // MONITOR's stream may trail the answer: wait until it shows the HMGET. Besides it, at most the
      // first read and one for the active event (a whole read of the completion would be a third).
      await vi.waitFor(() => expect(reads).toContain('hmget of the timestamps'), { timeout: 10_000 });
      expect(reads.filter((r) => r === 'view script').length).toBeLessThanOrEqual(2);
      expect(reads.filter((r) => r !== 'view script')).toHaveLength(1);
      expect(body).toEqual((await get(api.url, `/jobs/${job.id}`, { headers: alpha })).body);
      expect(body.result!.predictions[0]!.label).toBe('espresso');
    } finally {
      monitor.disconnect();
    }
  });

  it("a finished job answers its terminal event at once; unknown or another caller's job is a JSON 404", async () => {
    const api = await serve();
    await api.startWorker();
    const job = await submit(api);
    expect((await get(api.url, `${job.links.wait}?timeout=60`, { headers: alpha })).status).toBe(200);
    const events: string[] = [];
    for await (const e of sseEvents(await fetch(`${api.url}/jobs/${job.id}/events`, { headers: alpha })))
      events.push(e.event);
    expect(events).toEqual(['completed']);

    const theirs = await get<ErrorBody>(api.url, `/jobs/${job.id}/events`, { headers: beta });
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('not_found');
    expect((await get<ErrorBody>(api.url, '/jobs/not-a-job/events', { headers: alpha })).status).toBe(404);
    expect((await get<ErrorBody>(api.url, `/jobs/${job.id}/events`)).status).toBe(401);
  });

  it('clients that go away leave no waiter behind, and many followers share the same listeners', async () => {
    // No worker: the followed jobs stay queued while clients come and go.
    const api = await serve();
    const listeners = api.deps.waiter.listenerCount;
    const jobs = await Promise.all([submit(api), submit(api)]);
    const clients = jobs.flatMap((job) => [0, 1, 2].map(() => ({ job, abort: new AbortController() })));
    for (const client of clients) {
      const res = await fetch(`${api.url}/jobs/${client.job.id}/events`, {
        headers: alpha,
        signal: client.abort.signal,
      });
      const first = await sseEvents(res).next();
      expect(first.value).toMatchObject({ event: 'queued', data: { id: client.job.id } });
    }
    expect(api.deps.waiter.size).toBe(clients.length);
    expect(api.deps.waiter.listenerCount).toBe(listeners);
    for (const client of clients) client.abort.abort();
    await vi.waitFor(() => expect(api.deps.waiter.size).toBe(0), { timeout: 10_000 });
    expect(api.deps.waiter.listenerCount).toBe(listeners);
  });

  it('a job that vanishes without an event: its long-poll answers 404, its stream ends with not_found', async () => {
    // No worker: the job stays queued. Deleting its keys behind BullMQ's back is what a Redis
    // restarted without persistence, or a clean, looks like to a waiter: no event arrives.
    const api = await serve();
    const job = await submit(api);
    const res = await fetch(`${api.url}/jobs/${job.id}/events`, { headers: alpha });
    const events = sseEvents(res);
    expect((await events.next()).value).toMatchObject({ event: 'queued' });
    const waited = get<ErrorBody>(api.url, `${job.links.wait}?timeout=60`, { headers: alpha });
    await vi.waitFor(() => expect(api.deps.waiter.size).toBe(2), { timeout: 10_000 });
    const redis = api.deps.redis;
    const keys = await redis.keys(`bull:*${job.id}*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    const [poll, last] = await Promise.all([waited, events.next()]);
    expect(poll.status).toBe(404);
    expect(last.value).toMatchObject({ event: 'not_found', data: { error: { code: 'not_found' } } });
    expect((await events.next()).done).toBe(true);
  });
});
