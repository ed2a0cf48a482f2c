import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envVariableNames, loadConfig, projectRoot } from '../../src/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      // Loopback unless asked: npm start on a laptop does not serve /metrics to the network.
      http: { port: 5000, host: '127.0.0.1' },
      limits: { maxUploadBytes: 10 * 1024 * 1024 },
      queue: { name: 'classify', resultTtlSeconds: 3600, failedTtlSeconds: 86400 },
      worker: { maxBatch: 8 },
    });
    expect(config.worker.concurrency).toBe(2 * config.worker.maxBatch);
    expect(config.models.dir).toMatch(/shared\/models\/resnet50-v1\.5-int8$/);
  });

  it('is frozen all the way down: nothing changes the configuration at runtime', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 's1:26379',
      REDIS_SENTINEL_NAME: 'main',
      API_KEYS: 'alpha-key-0123456789',
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'long-enough-pw',
      WEBHOOK_ALLOW_HOSTS: 'receiver.internal',
    });
    const objects: object[] = [];
    const walk = (value: unknown) => {
      if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return;
      objects.push(value);
      Object.values(value).forEach(walk);
    };
    walk(config);
    // The root, its groups, and what they hold: lists, the Redis target, the credentials.
    expect(objects.length).toBeGreaterThan(15);
    for (const value of objects) expect(Object.isFrozen(value), JSON.stringify(value)).toBe(true);
    expect(() => {
      (config.limits as { maxUploadBytes: number }).maxUploadBytes = 1;
    }).toThrow(TypeError);
    expect(() => (config.clients.apiKeyDigests as string[]).push('digest')).toThrow(TypeError);
    expect(config.limits.maxUploadBytes).toBe(10 * 1024 * 1024);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '' }).http.port).toBe(5000);
  });

  it('names every bad variable in one error', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', MAX_BATCH: '0', REDIS_URL: 'localhost:6379' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT.*MAX_BATCH.*REDIS_URL|PORT/);
    try {
      attempt();
    } catch (err) {
      for (const name of ['PORT', 'MAX_BATCH', 'REDIS_URL']) expect((err as Error).message).toContain(name);
    }
  });

  it('reads operator credentials: dashboard closed, metrics open by default, Basic needs user and password', () => {
    const defaults = loadConfig({});
    expect(defaults.operators.dashboardCredentials).toEqual({ basic: undefined, bearer: undefined });
    expect(defaults.operators.metricsCredentials).toEqual({ bearer: undefined });
    expect(defaults.worker.metricsPort).toBe(0);
    const set = loadConfig({
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 'long-enough-pw',
      DASHBOARD_TOKEN: 't'.repeat(16),
      METRICS_TOKEN: 'm'.repeat(16),
      WORKER_METRICS_PORT: '9464',
    });
    expect(set.operators.dashboardCredentials).toEqual({
      basic: { user: 'ops', password: 'long-enough-pw' },
      bearer: 't'.repeat(16),
    });
    expect(set.operators.metricsCredentials).toEqual({ bearer: 'm'.repeat(16) });
    expect(set.worker.metricsPort).toBe(9464);
    expect(() => loadConfig({ DASHBOARD_USER: 'ops' })).toThrow(/DASHBOARD_PASSWORD/);
    expect(() => loadConfig({ DASHBOARD_PASSWORD: 'long-enough-pw' })).toThrow(/DASHBOARD_USER/);
    expect(() => loadConfig({ DASHBOARD_USER: 'a:b', DASHBOARD_PASSWORD: 'long-enough-pw' })).toThrow(/DASHBOARD_USER/);
    expect(() => loadConfig({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'short' })).toThrow(/DASHBOARD_PASSWORD/);
    expect(() => loadConfig({ DASHBOARD_TOKEN: 'short' })).toThrow(/DASHBOARD_TOKEN/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('reads batch and webhook settings: webhooks off without a whsec_ secret, allow-listed hosts normalised', () => {
    const defaults = loadConfig({});
    expect(defaults.limits.maxBatchImages).toBe(500);
    expect(defaults.webhooks).toMatchObject({
      secret: undefined,
      allowHosts: [],
      attempts: 6,
      backoffMs: 5000,
      timeoutMs: 10_000,
    });
    const key = Buffer.alloc(32, 7);
    const config = loadConfig({
      WEBHOOK_SECRET: `whsec_${key.toString('base64')}`,
      WEBHOOK_ALLOW_HOSTS: ' Receiver.Internal , [::1],127.0.0.1',
    });
    expect(config.webhooks.secret).toEqual(key);
    expect(config.webhooks.allowHosts).toEqual(['receiver.internal', '::1', '127.0.0.1']);
    for (const secret of ['plain-secret', `whsec_${Buffer.alloc(8).toString('base64')}`, 'whsec_not base64!']) {
      expect(() => loadConfig({ WEBHOOK_SECRET: secret })).toThrow(/WEBHOOK_SECRET/);
    }
  });

  it('reads one Redis target: a URL, Sentinel (with master name) or a Cluster, which hash-tags the queue name', () => {
    expect(loadConfig({}).redis.target).toBeUndefined();
    expect(loadConfig({ REDIS_URL: 'redis://r:6379' })).toMatchObject({
      redis: { target: { kind: 'url', url: 'redis://r:6379' } },
      queue: { name: 'classify' },
    });
    expect(
      loadConfig({ REDIS_SENTINELS: 's1:26379, s2:26380', REDIS_SENTINEL_NAME: 'main', REDIS_PASSWORD: 'pw' }).redis
        .target,
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'main',
      password: 'pw',
    });
    const cluster = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', QUEUE_NAME: 'detect' });
    expect(cluster.redis.target).toEqual({
      kind: 'cluster',
      nodes: [{ host: '10.0.0.1', port: 7000 }],
      password: undefined,
    });
    expect(cluster.queue.name).toBe('{detect}');
    expect(() => loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'a:1' })).toThrow(
      /REDIS_CLUSTER_NODES: set one of/,
    );
    expect(() => loadConfig({ REDIS_SENTINELS: 's1:26379' })).toThrow(/REDIS_SENTINEL_NAME/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'no-port' })).toThrow(
      /REDIS_CLUSTER_NODES[.0-9]*: must be host:port/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:70000' })).toThrow(
      /REDIS_CLUSTER_NODES[.0-9]*: port must be 1..65535/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', SUBMIT_DURABLE_REPLICAS: '1' })).toThrow(
      /SUBMIT_DURABLE_REPLICAS: not supported/,
    );
    expect(loadConfig({ SUBMIT_DURABLE_REPLICAS: '1' }).redis).toMatchObject({
      durableReplicas: 1,
      durableTimeoutMs: 2000,
    });
  });

  it('turns tracing on only with an http(s) OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(loadConfig({}).telemetry.otlpEndpoint).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).telemetry.otlpEndpoint).toBe(
      'http://collector:4318',
    );
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('reads MODEL_DIRS as several model directories (MODEL_DIR is the one otherwise), and DEFAULT_MODEL', () => {
    const one = loadConfig({ MODEL_DIR: 'models/a' });
    expect(one.models.dirs).toEqual([path.resolve('models/a')]);
    const several = loadConfig({ MODEL_DIR: 'ignored', MODEL_DIRS: ' models/a, models/b ,', DEFAULT_MODEL: 'b' });
    expect(several.models).toMatchObject({
      dirs: [path.resolve('models/a'), path.resolve('models/b')],
      dir: path.resolve('models/a'),
      defaultModel: 'b',
    });
    expect(() => loadConfig({ MODEL_DIRS: ' , ' })).toThrow(/MODEL_DIRS/);
  });

  it('documents every variable in the README configuration table', async () => {
    const readme = await readFile(path.join(projectRoot, 'README.md'), 'utf8');
    expect(envVariableNames).toContain('WORKER_METRICS_PORT');
    for (const name of envVariableNames) expect(readme, name).toContain(`| \`${name}\` |`);
  });

  it('takes MODEL_URL only with a pinned MODEL_SHA256, and an http(s) URL only', () => {
    const sha = 'AB'.repeat(32);
    expect(loadConfig({ MODEL_URL: 'https://models.example/r50.onnx', MODEL_SHA256: sha }).models).toMatchObject({
      url: 'https://models.example/r50.onnx',
      sha256: 'ab'.repeat(32),
    });
    expect(loadConfig({}).models).toMatchObject({ url: undefined, sha256: undefined });
    expect(() => loadConfig({ MODEL_URL: 'https://models.example/r50.onnx' })).toThrow(
      /MODEL_SHA256: required with MODEL_URL/,
    );
    expect(() => loadConfig({ MODEL_SHA256: sha })).toThrow(/MODEL_URL: required with MODEL_SHA256/);
    expect(() => loadConfig({ MODEL_URL: 'file:///etc/passwd', MODEL_SHA256: sha })).toThrow(
      /MODEL_URL: must be an http/,
    );
    expect(() => loadConfig({ MODEL_URL: 'https://m/r.onnx', MODEL_SHA256: 'abc' })).toThrow(
      /MODEL_SHA256: must be 64 hex digits/,
    );
    // Checked with every other pair, so a missing partner is listed beside the other problems.
    expect(() => loadConfig({ MODEL_URL: 'https://m/r.onnx', PORT: 'eighty', DASHBOARD_USER: 'ops' })).toThrow(
      /PORT: .*; DASHBOARD_PASSWORD: .*; MODEL_SHA256: required with MODEL_URL/,
    );
  });

  it('reads TRUST_PROXY as a number of proxy hops, and refuses "true" (which would trust any X-Forwarded-For)', () => {
    expect(loadConfig({}).clients.trustedProxyHops).toBe(0);
    expect(loadConfig({ TRUST_PROXY: 'false' }).clients.trustedProxyHops).toBe(0);
    expect(loadConfig({ TRUST_PROXY: '2' }).clients.trustedProxyHops).toBe(2);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY: the number of proxies/);
    expect(() => loadConfig({ TRUST_PROXY: '-1' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({}).clients.authFailuresPerHour).toBe(60);
    expect(loadConfig({ AUTH_FAILURES_PER_HOUR: '0' }).clients.authFailuresPerHour).toBe(0);
  });
});
