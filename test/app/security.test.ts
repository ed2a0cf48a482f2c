import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { ApiDeps } from '../../src/api/deps.js';
import { connectApiDeps } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { get, type ErrorBody } from '../support/http.js';

/**
 * The API's security policies in process: createApp over real Redis (no worker, no model run),
 * served on a loopback port so requests carry real headers.
 */
const redisUrl = inject('redisUrl');
const open: { close(): Promise<void> }[] = [];
let redis: Redis;

interface Served {
  url: string;
  host: string;
  deps: ApiDeps;
}

async function serve(env: Record<string, string> = {}): Promise<Served> {
  const config = loadConfig({ REDIS_URL: redisUrl, QUEUE_NAME: `sec-${randomUUID().slice(0, 8)}`, ...env });
  const connected = await connectApiDeps(config, createLogger('silent', 'test'));
  const handle = createApp(connected.deps).callback();
  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({
    close: async () => (await new Promise<void>((resolve) => server.close(() => resolve())), await connected.close()),
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `http://${host}`, host, deps: connected.deps };
}

beforeAll(() => {
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  for (const s of open) await s.close();
  redis.disconnect();
});

const user = 'operator';
const password = 'correct-horse-battery';
const basic = { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
const operators = { DASHBOARD_USER: user, DASHBOARD_PASSWORD: password };

/** The CSP directives of a response, by name. */
function csp(res: { headers: Headers }): Map<string, string> {
  const value = res.headers.get('content-security-policy') ?? '';
  return new Map(
    value
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => [d.split(/\s+/)[0]!, d.slice(d.indexOf(' ') + 1)]),
  );
}

describe('security headers (helmet) on every response', () => {
  let app: Served;
  beforeAll(async () => {
    app = await serve(operators);
  });

  it('JSON, errors and scripts: a CSP that loads nothing, no framing, no sniffing, no referrer', async () => {
    for (const path of [
      '/healthz',
      `/jobs/${randomUUID()}`,
      '/nowhere',
      '/openapi.json',
      '/app.js',
      '/docs/redoc.standalone.js',
    ]) {
      const res = await get(app.url, path);
      expect(csp(res).get('default-src'), path).toBe("'none'");
      expect(csp(res).get('frame-ancestors'), path).toBe("'none'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
    }
  });

  it('each page gets the policy it needs, and none may be framed or load from elsewhere', async () => {
    const pages = {
      '/': { headers: {} as Record<string, string>, scripts: undefined },
      '/docs': { headers: {}, scripts: "'self'" },
      '/admin/queues': { headers: basic, scripts: "'self'" },
    };
    for (const [path, { headers, scripts }] of Object.entries(pages)) {
      const res = await get<string>(app.url, path, { headers });
      expect(res.status, path).toBe(200);
      const policy = csp(res);
      expect(policy.get('default-src'), path).toBe("'self'");
      expect(policy.get('frame-ancestors'), path).toBe("'none'");
      expect(policy.get('script-src'), path).toBe(scripts);
      expect(res.headers.get('content-security-policy'), path).not.toMatch(/https?:|\*|unsafe-eval/);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
    // Refusals of the dashboard carry them too.
    const refused = await get(app.url, '/admin/queues');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('Bull Board refuses cross-site state changes (CSRF)', () => {
  let app: Served;
  beforeAll(async () => {
    app = await serve(operators);
  });

  it('a cross-site form post cannot add, retry or clean jobs; the same call from the page itself can', async () => {
    const queue = app.deps.operators.queues[0]!;
    const name = queue.name;
    const add = (headers: Record<string, string>) =>
      get<ErrorBody>(app.url, `/admin/queues/api/queues/${name}/add`, {
        method: 'POST',
        headers: { ...basic, 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'from-the-board', data: {}, options: {} }),
      });
    const crossSite: Record<string, string>[] = [
      { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
      { Origin: 'https://evil.example' },
      { 'Sec-Fetch-Site': 'same-site' },
      { Origin: 'null' },
    ];
    for (const headers of crossSite) {
      const res = await add(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    for (const action of ['retry/failed', 'clean/completed']) {
      const res = await get<ErrorBody>(app.url, `/admin/queues/api/queues/${name}/${action}`, {
        method: 'PUT',
        headers: { ...basic, Origin: 'https://evil.example' },
      });
      expect(res.status, action).toBe(403);
    }
    expect(await queue.count()).toBe(0);

    const sameOrigin = await add({ Origin: app.url, 'Sec-Fetch-Site': 'same-origin' });
    expect(sameOrigin.status).toBe(200);
    expect(await queue.count()).toBe(1);
    // A script with explicit credentials and no browser headers is unaffected.
    expect((await add({})).status).toBe(200);
    expect(await queue.count()).toBe(2);
  });
});

describe('rate limits', () => {
  it('count TRUST_PROXY hops from the right, so a forged X-Forwarded-For dodges nothing; keys expire', async () => {
    const app = await serve({ RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1' });
    // The proxy appends the address it saw; everything left of it is whatever the client wrote.
    const from = (client: string) => ({
      'X-Forwarded-For': `${randomUUID().slice(0, 8)}.example, 10.${Math.floor(Math.random() * 250)}.0.1, ${client}`,
    });
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await get<ErrorBody>(app.url, `/jobs/${randomUUID()}`, { headers: from('203.0.113.7') }));
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 429]);
    expect(answers.map((r) => r.headers.get('ratelimit-policy'))).toEqual(Array(4).fill('"per-minute";q=3;w=60'));
    expect(answers.map((r) => /r=(\d+)/.exec(r.headers.get('ratelimit') ?? '')?.[1])).toEqual(['2', '1', '0', '0']);
    const limited = answers[3]!;
    expect(limited.body.error.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit')).toMatch(new RegExp(`^"per-minute";r=0;t=\\d+$`));

    // Another client behind the same proxy has its own budget.
    expect((await get(app.url, `/jobs/${randomUUID()}`, { headers: from('203.0.113.8') })).status).toBe(404);
    const ttl = await redis.pttl(`bull:${app.deps.queue.name}:ratelimit:203.0.113.7`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('without trusted proxies X-Forwarded-For is ignored: every forged value is the same client', async () => {
    const app = await serve({ RATE_LIMIT_PER_MINUTE: '2' });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await get(app.url, `/jobs/${randomUUID()}`, { headers: { 'X-Forwarded-For': `198.51.100.${i}` } })).status,
      );
    expect(statuses).toEqual([404, 404, 429]);
  });

  it('wrong credentials are limited per address (keys, dashboard, metrics); valid ones never are', async () => {
    const app = await serve({
      API_KEYS: 'the-right-key-0123456789',
      AUTH_FAILURES_PER_HOUR: '3',
      TRUST_PROXY: '1',
      METRICS_TOKEN: 'metrics-token-0123456789',
      ...operators,
    });
    const from = (client: string, headers: Record<string, string> = {}) => ({
      headers: { 'X-Forwarded-For': client, ...headers },
    });
    const wrong = [
      get(app.url, `/jobs/${randomUUID()}`, from('203.0.113.9', { Authorization: 'Bearer guess-1' })),
      get(app.url, '/admin/queues', from('203.0.113.9', { Authorization: 'Basic b3BlcmF0b3I6Z3Vlc3M=' })),
      get(app.url, '/metrics', from('203.0.113.9', { Authorization: 'Bearer guess-3' })),
    ];
    for (const res of wrong) expect((await res).status).toBe(401);
    // Further wrong credentials from that address get 429 instead of 401.
    const blocked = await get<ErrorBody>(
      app.url,
      `/jobs/${randomUUID()}`,
      from('203.0.113.9', { Authorization: 'Bearer guess-4' }),
    );
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(3500);
    expect((await get(app.url, '/admin/queues', from('203.0.113.9', { Authorization: 'Basic eDp5' }))).status).toBe(
      429,
    );
    // Issue 21, F11: valid credentials from the same address are never locked out by those failures.
    const right = { Authorization: 'Bearer the-right-key-0123456789' };
    expect((await get(app.url, `/jobs/${randomUUID()}`, from('203.0.113.9', right))).status).toBe(404);
    expect((await get(app.url, '/admin/queues', from('203.0.113.9', basic))).status).toBe(200);
    const metrics = { Authorization: 'Bearer metrics-token-0123456789' };
    expect((await get(app.url, '/metrics', from('203.0.113.9', metrics))).status).toBe(200);
    // Other addresses are unaffected, and the count expires with its hour.
    expect(
      (
        await get(
          app.url,
          `/jobs/${randomUUID()}`,
          from('203.0.113.10', { Authorization: 'Bearer the-right-key-0123456789' }),
        )
      ).status,
    ).toBe(404);
    const ttl = await redis.ttl(`bull:${app.deps.queue.name}:auth-failures:203.0.113.9`);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
  });
});
