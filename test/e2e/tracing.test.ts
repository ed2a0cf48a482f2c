import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/redis-server.js';
import { image, submitAndWait } from '../support/http.js';
import { spawnEntry, stopChild, waitForReady } from '../support/service.js';

/** One span as OTLP/HTTP JSON carries it, with its process's service.name. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type OtlpAttribute = { key: string; value: OtlpValue };
interface OtlpTraces {
  resourceSpans: {
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: { spans: { traceId: string; name: string; kind: number; attributes?: OtlpAttribute[] }[] }[];
  }[];
}

const attributes = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue)),
    ]),
  );

/** A local OTLP/HTTP receiver (JSON, POST /v1/traces), the part of a collector the service talks to. */
function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (
        req.method === 'POST' &&
        req.url === '/v1/traces' &&
        req.headers['content-type']?.startsWith('application/json')
      ) {
        for (const rs of (JSON.parse(body) as OtlpTraces).resourceSpans) {
          const service = String(attributes(rs.resource.attributes)['service.name']);
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              spans.push({
                service,
                traceId: s.traceId,
                name: s.name,
                kind: s.kind,
                attributes: attributes(s.attributes),
              });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res.writeHead(415).end();
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        spans,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
const children: ReturnType<typeof spawnEntry>[] = [];

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  for (const c of children) await stopChild(c.child);
  await receiver?.close();
});

describe('OpenTelemetry traces', () => {
  it('one trace per job: the API request, the enqueue and the worker process span (with its batch size)', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      REDIS_URL: inject('redisUrl'),
      QUEUE_NAME: `traces-${randomUUID().slice(0, 8)}`,
      HOST: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    };
    const api = spawnEntry('api/main', { ...env, PORT: String(port) });
    const worker = spawnEntry('worker/main', env);
    children.push(api, worker);
    await waitForReady(url, api.child, () => api.output() + worker.output());

    const job = await submitAndWait(url, await image('coffee.png'));
    expect(job.status).toBe('completed');
    // A graceful stop flushes every span not yet exported: no waiting on the export interval.
    expect(await stopChild(api.child)).toBe(0);
    expect(await stopChild(worker.child)).toBe(0);

    const processed = receiver.spans.find(
      (s) =>
        s.service === 'resnet-queue-worker' && s.attributes['bullmq.job.id'] === job.id && s.name.startsWith('process'),
    );
    expect(processed, JSON.stringify(receiver.spans.map((s) => [s.service, s.name]))).toBeDefined();
    expect(processed!.attributes['resnet.batch_size']).toBe(job.batchSize);
    const trace = receiver.spans.filter((s) => s.traceId === processed!.traceId);
    // The HTTP server span of POST /jobs and BullMQ's add span, from the API process.
    expect(trace.some((s) => s.service === 'resnet-queue-api' && s.kind === 2 && s.name.startsWith('POST'))).toBe(true);
    expect(
      trace.some(
        (s) => s.service === 'resnet-queue-api' && s.name.startsWith('add') && s.attributes['bullmq.job.id'] === job.id,
      ),
    ).toBe(true);
    // ioredis commands made for the job, in the same trace.
    expect(trace.some((s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis')).toBe(
      true,
    );
  });
});
