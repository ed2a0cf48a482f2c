import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { get, image, postImage, submitAndWait, type ErrorBody } from '../support/http.js';
import { startInProcessApi, type InProcessApi } from '../support/in-process.js';
import { expectedTop1 } from '../support/paths.js';
import { startRedisCluster, type RedisClusterHarness } from '../support/redis-topologies.js';

/**
 * The service's API and workers (in this process) on a 3-master Redis Cluster: every command the
 * service sends must name keys of one slot, which the {hash-tagged} queue name guarantees.
 */

let cluster: RedisClusterHarness;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(async () => {
  await cluster?.stop();
});

/** An in-process API on the cluster, on a queue of its own (returned without the braces). */
async function apiOnCluster(): Promise<{ app: InProcessApi; queueName: string }> {
  const queueName = `cluster-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    QUEUE_NAME: queueName,
    LOG_LEVEL: 'silent',
    INTRA_OP_THREADS: '1',
    RATE_LIMIT_PER_MINUTE: '1000',
  });
  return { app: await startInProcessApi(config), queueName };
}

describe('the service on a 3-master Redis Cluster, no worker', () => {
  let app: InProcessApi;
  let queueName: string;
  beforeAll(async () => {
    ({ app, queueName } = await apiOnCluster());
  });
  afterAll(() => app?.close());

  it('submits and cancels a queued job: the rate-limit counter and cancelled record live in its slot too', async () => {
    const submitted = await postImage(app.url, await image('baboon.jpg'));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    expect((await get(app.url, `/jobs/${submitted.body.id}`)).body.status).toBe('queued');
    const cancelled = await get(app.url, `/jobs/${submitted.body.id}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect((await get(app.url, `/jobs/${submitted.body.id}/wait?timeout=5`)).body.error?.code).toBe('cancelled');
  });

  it('keeps every key of the queue on one master, under the {hash-tagged} queue name', async () => {
    // Its own keys of every kind: an idempotent submission (with its rate-limit count), cancelled.
    const submitted = await postImage(app.url, await image('coffee.png'), {
      headers: { 'Idempotency-Key': randomUUID() },
    });
    expect(submitted.status).toBe(202);
    expect((await get(app.url, `/jobs/${submitted.body.id}`, { method: 'DELETE' })).status).toBe(200);
    const client = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
    try {
      await client.ping(); // connects and loads the slot map
      const keysByMaster = await Promise.all(client.nodes('master').map((node) => node.keys(`*${queueName}*`)));
      const holding = keysByMaster.filter((keys) => keys.length > 0);
      expect(holding).toHaveLength(1);
      // BullMQ's own keys and the service's (idempotency, cancelled, rate limit) all carry the tag.
      const keys = holding[0]!;
      // (the batch and webhook queues are `{name}-batches`, `{name}-webhooks`: the same tag)
      for (const key of keys) expect(key.startsWith(`bull:{${queueName}}`), key).toBe(true);
      expect(keys.some((k) => k.includes(':idempotency:'))).toBe(true);
      expect(keys.some((k) => k.includes(':cancelled:'))).toBe(true);
      expect(keys.some((k) => k.includes(':ratelimit:'))).toBe(true);
      // Other queues (one per model) hash elsewhere: three names already land on at least two masters.
      const slots = await Promise.all(
        ['classify', 'detect', 'segment'].map((name) => client.call('CLUSTER', 'KEYSLOT', `bull:{${name}}:wait`)),
      );
      const owners = new Set(slots.map((slot) => client.slots[Number(slot)]![0]));
      expect(owners.size).toBeGreaterThan(1);
    } finally {
      client.disconnect();
    }
  });
});

describe('the service on a 3-master Redis Cluster, with a worker', () => {
  let app: InProcessApi;
  beforeAll(async () => {
    ({ app } = await apiOnCluster());
    await app.startWorker();
  });
  afterAll(() => app?.close());

  it('submit and wait, fetch, Prefer: wait, Idempotency-Key and /predict all work', async () => {
    const { url } = app;
    const done = await submitAndWait(url, await image('coffee.png'));
    expect(done.status).toBe('completed');
    expect(expectedTop1['coffee.png']).toContain(done.result!.predictions[0]!.label);
    const fetched = await get(url, `/jobs/${done.id}`);
    expect(fetched.body).toMatchObject({ id: done.id, status: 'completed' });

    const sync = await postImage(url, await image('orange.jpg'), { headers: { Prefer: 'wait=60' } });
    expect(sync.status).toBe(200);
    expect(sync.body.result!.predictions[0]!.label).toBe('orange');

    const key = { 'Idempotency-Key': randomUUID() };
    const first = await postImage(url, await image('eagle.jpg'), { headers: key });
    const again = await postImage(url, await image('eagle.jpg'), { headers: key });
    expect(again.body.id).toBe(first.body.id);

    const predicted = await postImage<{ success: boolean; predictions: { label: string }[] }>(
      url,
      await image('eagle.jpg'),
      { route: '/predict' },
    );
    expect(predicted.status).toBe(200);
    expect(predicted.body.success).toBe(true);
    expect(predicted.body.predictions[0]!.label).toBe('bald_eagle');

    const late = await get<ErrorBody>(url, `/jobs/${done.id}`, { method: 'DELETE' });
    expect(late.body.error.code).toBe('not_cancellable');
  });
});
