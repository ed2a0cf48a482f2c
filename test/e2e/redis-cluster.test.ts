import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis-server.js';
import { get, image, postImage, submitAndWait, type ErrorBody } from '../support/http.js';
import { expectedTop1 } from '../support/paths.js';
import { startRedisCluster, type RedisClusterHarness } from '../support/redis-topologies.js';
import { spawnEntry, stopChild, waitForReady } from '../support/service.js';

type Proc = ReturnType<typeof spawnEntry>;

let cluster: RedisClusterHarness;
let api: Proc;
let worker: Proc | undefined;
let url: string;
const queueName = `cluster-${randomUUID().slice(0, 8)}`;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = {
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    QUEUE_NAME: queueName,
    HOST: '127.0.0.1',
    RATE_LIMIT_PER_MINUTE: '1000',
  };
  api = spawnEntry('api/main', { ...env, PORT: String(port) });
  // No worker yet: the first test needs a job that stays queued.
  await waitForReady(url, api.child, api.output, 60_000, '/healthz');
});

afterAll(async () => {
  if (worker) await stopChild(worker.child);
  if (api) await stopChild(api.child);
  await cluster?.stop();
});

describe('the service on a 3-master Redis Cluster', () => {
  it('submits and cancels a queued job (the rate-limit counter and the cancelled record live in the queue slot too)', async () => {
    const submitted = await postImage(url, await image('baboon.jpg'));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    expect((await get(url, `/jobs/${submitted.body.id}`)).body.status).toBe('queued');
    const cancelled = await get(url, `/jobs/${submitted.body.id}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect((await get(url, `/jobs/${submitted.body.id}/wait?timeout=5`)).body.error?.code).toBe('cancelled');
  });

  it('with a worker: submit and wait, fetch, Prefer: wait, Idempotency-Key and /predict all work', async () => {
    worker = spawnEntry('worker/main', env);
    await waitForReady(url, worker.child, () => worker!.output() + api.output());

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

  it('keeps every key of the queue on one master, under the {hash-tagged} queue name', async () => {
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
