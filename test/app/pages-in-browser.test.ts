import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/api/openapi.js';
import { chromiumPath, launchChromium, reportMissingChromium } from '../support/chromium.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { imagesDir, outputDir } from '../support/paths.js';

reportMissingChromium('the pages (/, /docs, /admin/queues)');

/** Redoc's sidebar credit links an image on its CDN; the CSP blocks it, and nothing else may leave. */
const redocCredit = 'https://cdn.redoc.ly/redoc/logo-mini.svg';

const user = 'operator';
const password = 'correct-horse-battery';

/**
 * Two services on queues of their own. `site` has no worker at first: a job the page submits stays
 * queued until the test starts one, so every step is observable; a lone image then waits
 * MAX_BATCH_DELAY_MS for company, running, and the page's event stream must show "Running" while
 * it does. `operators` serves the dashboard, whose queue no worker ever drains, so its counts are exact.
 */
let site: InProcessApi;
let operators: InProcessApi;
let browser: Browser | undefined;

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  [site, operators] = await Promise.all([
    // The grace period keeps the queued job accepted however long the worker takes to come.
    startInProcessApi(testConfig(redisUrl, { MAX_BATCH_DELAY_MS: '3000', WORKER_GRACE_SECONDS: '3600' })),
    startInProcessApi(testConfig(redisUrl, { DASHBOARD_USER: user, DASHBOARD_PASSWORD: password })),
  ]);
  if (chromiumPath) browser = await launchChromium();
  await mkdir(outputDir, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([site?.close(), operators?.close()]);
});

describe('GET / and /app.js', () => {
  it('serve the page with a same-origin-only CSP, no framing, no sniffing and no referrer', async () => {
    const res = await fetch(`${site.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/(^|;\s*)default-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|;\s*)frame-ancestors 'none'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toContain('<script src="/app.js" defer></script>');
    expect(html).not.toMatch(/<script>|https?:\/\//);

    const script = await fetch(`${site.url}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await script.text()).toContain('fetch(url, init)');
  });
});

describe.skipIf(!chromiumPath)('the page at / in headless Chromium', () => {
  it(
    'uploads a photo, shows queued → running → done live from one event stream, then the top 5 with espresso ' +
      'first; a non-image gets plain words',
    async () => {
      const page = await browser!.newPage({ viewport: { width: 800, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
      });
      const requested: string[] = [];
      page.on('request', (req) => requested.push(new URL(req.url()).pathname));

      await page.goto(`${site.url}/`);
      await page.setInputFiles('#file', path.join(imagesDir, 'coffee.png'));
      await page.waitForSelector('[data-step="queued"].current');
      await page.waitForSelector('#preview:not([hidden])');
      // No worker yet: the job waits, shown as queued, until one starts and takes it.
      const worker = site.startWorker();
      await page.waitForSelector('[data-step="active"].current');
      expect(await page.textContent('#status')).toBe('A worker is running the model…');
      await worker;
      await page.waitForSelector('#results:not([hidden])');
      expect(await page.getAttribute('[data-step="completed"]', 'class')).toBe('current');
      const rows = await page.locator('#results li').allTextContents();
      expect(rows).toHaveLength(5);
      expect(rows[0]).toMatch(/^espresso\d{2}\.\d %$/);
      expect(
        await page
          .locator('#results li:first-child .bar span')
          .evaluate((e) => (e as { style: { width: string } }).style.width),
      ).toMatch(/^9\d\.\d%$/);
      expect(await page.textContent('#status')).toMatch(
        /^Done: [\d.]+ s in the queue, [\d.]+ s running in a batch of 1\.$/,
      );
      // The job was followed through one event stream, never by polling its status.
      expect(requested.filter((p) => p.startsWith('/jobs/'))).toEqual([
        expect.stringMatching(/^\/jobs\/[\w-]+\/events$/),
      ]);
      await page.screenshot({ path: path.join(outputDir, 'web-page.png'), fullPage: true });

      // Dropped this time, and not an image: the service's 400 reads as a sentence.
      // Built in the page (a string, since the tests compile without the DOM typings).
      const dataTransfer = await page.evaluateHandle(`(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['just some notes'], 'notes.txt', { type: 'text/plain' }));
        return dt;
      })()`);
      await page.dispatchEvent('#drop', 'drop', { dataTransfer });
      await page.waitForSelector('#error:not([hidden])');
      expect(await page.textContent('#error')).toMatch(
        /^That file is not an image the service can read\..*\(invalid_image\)$/,
      );
      expect(await page.isHidden('#results')).toBe(true);
      await page.screenshot({ path: path.join(outputDir, 'web-page-error.png'), fullPage: true });

      // Several files at once: one batch, each image's top label or its error in plain words, in order.
      const photo = async (name: string, mimeType: string) => ({
        name,
        mimeType,
        buffer: await readFile(path.join(imagesDir, name)),
      });
      await page.setInputFiles('#file', [
        await photo('coffee.png', 'image/png'),
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('just some notes') },
        await photo('orange.jpg', 'image/jpeg'),
      ]);
      await page.waitForSelector('#batch:not([hidden])');
      const batchRows = await page.locator('#batch li').allTextContents();
      expect(batchRows).toHaveLength(3);
      expect(batchRows[0]).toMatch(/^coffee\.pngespresso\d{2}\.\d %$/);
      expect(batchRows[1]).toBe('notes.txtThat file is not an image the service can read.');
      expect(batchRows[2]).toMatch(/^orange\.jpgorange\d{2}\.\d %$/);
      expect(await page.textContent('#status')).toBe('Done: 2 of 3 images classified, 1 failed.');
      expect(await page.isHidden('#results')).toBe(true);
      await page.screenshot({ path: path.join(outputDir, 'web-page-batch.png'), fullPage: true });

      expect(problems).toEqual([]);
    },
  );
});

describe.skipIf(!chromiumPath)('/docs in headless Chromium', () => {
  it(
    'renders every operation of /openapi.json, the error table and the request examples, ' + 'from this server only',
    async () => {
      const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
      const elsewhere: string[] = [];
      const problems: string[] = [];
      // Offline for real: anything not from this server is aborted (and recorded), so a CDN dependency fails here.
      await page.route('**/*', (route) => {
        const target = route.request().url();
        if (target.startsWith(site.url) || target.startsWith('blob:') || target.startsWith('data:'))
          return route.continue();
        elsewhere.push(target);
        return route.abort();
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !msg.text().includes(redocCredit)) problems.push(msg.text());
      });

      await page.goto(`${site.url}/docs`);
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
      await page.screenshot({ path: path.join(outputDir, 'docs-page.png') });

      expect(problems).toEqual([]);
      expect(elsewhere.filter((u) => u !== redocCredit)).toEqual([]);
    },
  );
});

describe.skipIf(!chromiumPath)('/admin/queues in headless Chromium', () => {
  it(
    'Bull Board renders the queue under its CSP, asking nothing from elsewhere ' +
      '(its Google Fonts stylesheet is blocked)',
    async () => {
      const context = await browser!.newContext({ httpCredentials: { username: user, password } });
      const page = await context.newPage();
      const elsewhere: string[] = [];
      const problems: string[] = [];
      await page.route('**/*', (route) => {
        const target = route.request().url();
        if (target.startsWith(operators.url) || target.startsWith('data:')) return route.continue();
        elsewhere.push(target);
        return route.abort();
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !msg.text().includes('fonts.googleapis.com')) problems.push(msg.text());
      });
      await page.goto(`${operators.url}/admin/queues`);
      const queue = operators.deps.operators.queues[0]!;
      await page.getByText(queue.name).first().waitFor();
      await page.screenshot({ path: path.join(outputDir, 'dashboard.png') });

      // The board's own calls (same origin) go through the CSRF check...
      const job = JSON.stringify({ name: 'from-the-board', data: {}, options: {} });
      const add =
        `fetch('api/queues/${queue.name}/add', { method: 'POST', headers: { 'Content-Type': 'application/json' }, ` +
        `body: ${JSON.stringify(job)} }).then((r) => r.status)`;
      expect(await page.evaluate(add)).toBe(200);
      expect(await queue.count()).toBe(1);
      // ...a form on another site, posting with the same saved credentials, does not.
      const elsewhereSite = await context.newPage();
      await elsewhereSite.setContent(
        `<form method="post" enctype="text/plain" ` +
          `action="${operators.url}/admin/queues/api/queues/${queue.name}/add">` +
          `<input name='{"name":"forged","data":{},"x":"' value='"}'><button>go</button></form>`,
      );
      const [forged] = await Promise.all([elsewhereSite.waitForNavigation(), elsewhereSite.click('button')]);
      expect(forged?.status()).toBe(403);
      expect(await queue.count()).toBe(1);
      expect(problems).toEqual([]);
      expect(elsewhere.filter((u) => !u.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
      await context.close();
    },
  );
});
