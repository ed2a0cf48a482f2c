import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { buildOpenApiDocument } from '../../src/api/openapi.js';
import { connectApiDeps, type ConnectedDeps } from '../../src/api/server.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { chromiumPath, launchChromium, reportMissingChromium } from '../support/chromium.js';
import { outputDir } from '../support/paths.js';

reportMissingChromium('/docs and /admin/queues');

/** Redoc's sidebar credit links an image on its CDN; the CSP blocks it, and nothing else may leave. */
const redocCredit = 'https://cdn.redoc.ly/redoc/logo-mini.svg';

const user = 'operator';
const password = 'correct-horse-battery';

let connected: ConnectedDeps;
let server: http.Server;
let url: string;
let browser: Browser;

beforeAll(async () => {
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    QUEUE_NAME: `docs-${randomUUID().slice(0, 8)}`,
    DASHBOARD_USER: user,
    DASHBOARD_PASSWORD: password,
  });
  connected = await connectApiDeps(config, createLogger('silent', 'test'));
  const handle = createApp(connected.deps).callback();
  server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (chromiumPath) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await connected.close();
});

describe.skipIf(!chromiumPath)('/docs in headless Chromium', () => {
  it('renders every operation of /openapi.json, the error table and the request examples, from this server only', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const elsewhere: string[] = [];
    const problems: string[] = [];
    // Offline for real: anything not from this server is aborted (and recorded), so a CDN dependency fails here.
    await page.route('**/*', (route) => {
      const target = route.request().url();
      if (target.startsWith(url) || target.startsWith('blob:') || target.startsWith('data:')) return route.continue();
      elsewhere.push(target);
      return route.abort();
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().includes(redocCredit)) problems.push(msg.text());
    });

    await page.goto(`${url}/docs`);
    await page.waitForSelector('li[data-item-id*="/paths/"]', { state: 'attached' });
    const listed = await page.locator('li[data-item-id*="/paths/"]').allTextContents();
    const doc = buildOpenApiDocument();
    // Redoc lists the webhook messages the service sends beside the operations it serves.
    const summaries = [...Object.values(doc.paths), ...Object.values(doc.webhooks)].flatMap((item) =>
      Object.values(item).map((op) => op.summary),
    );
    expect(listed).toHaveLength(summaries.length);
    for (const summary of summaries)
      expect(
        listed.some((text) => text.endsWith(summary)),
        summary,
      ).toBe(true);

    const text = await page.locator('body').innerText();
    expect(text).toContain('queue_full');
    expect(text).toContain('curl -X POST -F image=@../shared/images/eagle.jpg');
    await mkdir(outputDir, { recursive: true });
    await page.screenshot({ path: path.join(outputDir, 'docs-page.png') });

    expect(problems).toEqual([]);
    expect(elsewhere.filter((u) => u !== redocCredit)).toEqual([]);
  });
});

describe.skipIf(!chromiumPath)('/admin/queues in headless Chromium', () => {
  it('Bull Board renders the queue under its CSP, asking nothing from elsewhere (its Google Fonts stylesheet is blocked)', async () => {
    const context = await browser.newContext({ httpCredentials: { username: user, password } });
    const page = await context.newPage();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    await page.route('**/*', (route) => {
      const target = route.request().url();
      if (target.startsWith(url) || target.startsWith('data:')) return route.continue();
      elsewhere.push(target);
      return route.abort();
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().includes('fonts.googleapis.com')) problems.push(msg.text());
    });
    await page.goto(`${url}/admin/queues`);
    const queue = connected.deps.operators.queues[0]!;
    await page.getByText(queue.name).first().waitFor();
    await page.screenshot({ path: path.join(outputDir, 'dashboard.png') });

    // The board's own calls (same origin) go through the CSRF check...
    const add = `fetch('api/queues/${queue.name}/add', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'from-the-board', data: {}, options: {} }) }).then((r) => r.status)`;
    expect(await page.evaluate(add)).toBe(200);
    expect(await queue.count()).toBe(1);
    // ...a form on another site, posting with the same saved credentials, does not.
    const elsewhereSite = await context.newPage();
    await elsewhereSite.setContent(
      `<form method="post" enctype="text/plain" action="${url}/admin/queues/api/queues/${queue.name}/add"><input name='{"name":"forged","data":{},"x":"' value='"}'><button>go</button></form>`,
    );
    const [forged] = await Promise.all([elsewhereSite.waitForNavigation(), elsewhereSite.click('button')]);
    expect(forged?.status()).toBe(403);
    expect(await queue.count()).toBe(1);
    expect(problems).toEqual([]);
    expect(elsewhere.filter((u) => !u.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
    await context.close();
  });
});
