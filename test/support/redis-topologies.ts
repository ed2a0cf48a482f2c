import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from '../../src/redis-server.js';
import { until } from './wait.js';

async function withClient<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

export interface RedisClusterHarness {
  nodes: RedisServer[];
  /** REDIS_CLUSTER_NODES for the service. */
  nodesEnv: string;
  stop(): Promise<void>;
}

/**
 * `masters` redis-servers with `--cluster-enabled yes` on loopback, joined by
 * `redis-cli --cluster create` (no replicas), resolved once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHarness> {
  const nodes = await Promise.all(
    Array.from({ length: masters }, () =>
      startRedisServer({
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
        ],
      }),
    ),
  );
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (created.status !== 0) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  }
  for (const node of nodes) {
    await until(`cluster_state:ok on ${node.port}`, () =>
      withClient(node.port, async (r) => /cluster_state:ok/.test(String(await r.call('CLUSTER', 'INFO')))),
    );
  }
  return {
    nodes,
    nodesEnv: addresses.join(','),
    stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))),
  };
}

export interface RedisSentinelHarness {
  /** The master group name the sentinels monitor (REDIS_SENTINEL_NAME). */
  name: string;
  /** REDIS_SENTINELS for the service. */
  sentinelsEnv: string;
  master: RedisServer;
  replica: RedisServer;
  /** Port of the master the sentinels currently name. */
  currentMasterPort(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * One master, one replica and three sentinels (quorum 2) on loopback. The sentinels declare the
 * master down after `downAfterMs` without a reply, then promote the replica.
 */
export async function startRedisSentinel(downAfterMs = 1000): Promise<RedisSentinelHarness> {
  const name = 'resnet';
  // A master starts a full sync at once instead of waiting 5 s for more replicas to share it
  // (the replica too: it becomes the master on failover).
  const noSyncDelay = ['--repl-diskless-sync-delay', '0'];
  const master = await startRedisServer({ extraArgs: noSyncDelay });
  const replica = await startRedisServer({
    extraArgs: [...noSyncDelay, '--replicaof', '127.0.0.1', String(master.port)],
  });
  await until('the replica to sync', () =>
    withClient(replica.port, async (r) => /master_link_status:up/.test(await r.info('replication'))),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'resnet-queue-sentinel-'));
  const sentinels: { port: number; child: ChildProcess }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const file = path.join(dir, `sentinel-${i}.conf`);
    // Sentinel rewrites its own config file (it records the replicas and the other sentinels).
    await writeFile(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    sentinels.push({ port, child: spawn('redis-sentinel', [file], { stdio: 'ignore' }) });
  }
  // Ready when every sentinel sees the replica and the two other sentinels: a failover needs both.
  for (const s of sentinels) {
    await until(`sentinel ${s.port} to discover the replica and its peers`, () =>
      withClient(s.port, async (r) => {
        const [masterInfo] = (await r.call('SENTINEL', 'MASTERS')) as string[][];
        const fields = new Map<string, string>();
        for (let i = 0; i + 1 < (masterInfo?.length ?? 0); i += 2) fields.set(masterInfo![i]!, masterInfo![i + 1]!);
        return fields.get('num-slaves') === '1' && fields.get('num-other-sentinels') === '2';
      }),
    );
  }
  const currentMasterPort = () =>
    withClient(sentinels[0]!.port, async (r) =>
      Number(((await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[])[1]),
    );
  return {
    name,
    sentinelsEnv: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    master,
    replica,
    currentMasterPort,
    stop: async () => {
      for (const s of sentinels) {
        if (s.child.exitCode === null && s.child.signalCode === null) {
          s.child.kill('SIGTERM');
          await once(s.child, 'exit');
        }
      }
      await Promise.all([master.stop(), replica.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
