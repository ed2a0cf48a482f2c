import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../../src/config.js';
import { image, postImage } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';

/**
 * The manifests in deploy/ against the service itself: the autoscaler's queries read metrics the API
 * exports, with labels and label values it really writes, and the probes name routes that exist.
 */
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}
interface Container {
  command: string[];
  env: { name: string; value?: string }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string }; timeoutSeconds?: number };
  readinessProbe?: { httpGet?: { path: string; port: string }; timeoutSeconds?: number };
  startupProbe?: { tcpSocket?: { port: string } };
}

async function manifests(): Promise<Manifest[]> {
  const dir = path.join(projectRoot, 'deploy');
  const files = ['api.yaml', 'worker.yaml', 'keda-scaledobject.yaml'];
  const texts = await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')));
  return texts.flatMap((text) =>
    parseAllDocuments(text).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as Manifest;
    }),
  );
}

const container = (all: Manifest[], name: string): Container => {
  const deployment = all.find((m) => m.kind === 'Deployment' && m.metadata.name === name)!;
  return (deployment.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;
};

/** Every `metric{label="v", label=~"a|b"}` selector of a PromQL query. */
function selectors(query: string) {
  return [...query.matchAll(/([a-z_:][a-z0-9_:]*)\{([^}]*)\}/g)].map((m) => ({
    metric: m[1]!,
    matchers: [...m[2]!.matchAll(/([a-z_]+)\s*(=~|=)\s*"([^"]*)"/g)].map((l) => ({
      label: l[1]!,
      values: l[2] === '=~' ? l[3]!.split('|') : [l[3]!],
    })),
  }));
}

/** The label values each metric's samples carry, from Prometheus text. */
function labelValues(text: string, metric: string): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${metric}\\{(.*)\\} `).exec(line);
    if (!match) continue;
    for (const [, label, value] of match[1]!.matchAll(/([a-z_]+)="([^"]*)"/g))
      values.set(label!, (values.get(label!) ?? new Set()).add(value!));
  }
  return values;
}

let api: InProcessApi;
beforeAll(async () => {
  api = await startInProcessApi(testConfig(inject('redisUrl'), { WORKER_GRACE_SECONDS: '3600' }));
  expect((await postImage(api.url, await image('orange.jpg'))).status).toBe(202);
});
afterAll(() => api?.close());

describe('deploy/', () => {
  it("the ScaledObject scales the worker Deployment on queries that read the API's own metrics", async () => {
    const all = await manifests();
    const scaled = all.find((m) => m.kind === 'ScaledObject')!;
    const spec = scaled.spec as {
      scaleTargetRef: { name: string };
      triggers: { type: string; metadata: { query: string; threshold: string } }[];
    };
    expect(container(all, spec.scaleTargetRef.name).command).toEqual(['node', 'dist/worker/main.js']);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    const queries = spec.triggers.filter((t) => t.type === 'prometheus').map((t) => t.metadata.query);
    expect(queries.length).toBeGreaterThanOrEqual(1);
    for (const query of queries) {
      const found = selectors(query);
      expect(found.length, query).toBeGreaterThan(0);
      for (const { metric, matchers } of found) {
        const labels = labelValues(metrics, metric);
        expect(labels.size, `${metric} is exported`).toBeGreaterThan(0);
        for (const { label, values } of matchers)
          for (const value of values) expect([...(labels.get(label) ?? [])], `${metric}{${label}}`).toContain(value);
      }
    }
  });

  it('the probes name routes the API serves, and the worker probes its metrics port', async () => {
    const all = await manifests();
    const apiContainer = container(all, 'resnet-queue-api');
    expect(apiContainer.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(apiContainer.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    // No worker serves this test's queue: not ready, and the probe says why.
    expect((await fetch(`${api.url}/readyz`)).status).toBe(503);
    const port = apiContainer.env.find((e) => e.name === 'PORT')?.value;
    expect(apiContainer.ports.find((p) => p.name === apiContainer.livenessProbe?.httpGet?.port)?.containerPort).toBe(
      Number(port),
    );

    const worker = container(all, 'resnet-queue-worker');
    const metricsPort = worker.env.find((e) => e.name === 'WORKER_METRICS_PORT')?.value;
    expect(worker.ports.find((p) => p.name === worker.livenessProbe?.httpGet?.port)?.containerPort).toBe(
      Number(metricsPort),
    );
    expect(worker.livenessProbe?.httpGet?.path).toBe('/metrics');
  });
});
