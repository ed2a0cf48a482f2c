import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/redis-server.js';
import { chromiumPath, launchChromium, reportMissingChromium } from '../support/chromium.js';
import { imagesDir, outputDir } from '../support/paths.js';
import { spawnEntry, stopChild, waitForReady } from '../support/service.js';

reportMissingChromium('web page');

/**
 * The API alone at first: a job the page submits stays queued until the test starts the worker,
 * so every step is observable. A lone image then waits MAX_BATCH_DELAY_MS for company, running:
 * the page's event stream must show "Running" while it does, before the result arrives.
 */
const redisUrl = inject('redisUrl');
const queueName = `web-${randomUUID().slice(0, 8)}`;
const children: ChildProcess[] = [];
let service: { url: string };
beforeAll(async () => {
  const port = await freePort();
  const api = spawnEntry('api/main', {
    REDIS_URL: redisUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    QUEUE_NAME: queueName,
  });
  children.push(api.child);
  service = { url: `http://127.0.0.1:${port}` };
  await waitForReady(service.url, api.child, api.output, 60_000, '/healthz');
});
afterAll(async () => {
  for (const child of children) expect(await stopChild(child)).toBe(0);
});

/** Starts the worker, on the page's queue. */
function startWorker(): void {
  children.push(
    spawnEntry('worker/main', { REDIS_URL: redisUrl, QUEUE_NAME: queueName, MAX_BATCH_DELAY_MS: '3000' }).child,
  );
}

describe('GET / and /app.js', () => {
  it('serve the page with a same-origin-only CSP, no framing, no sniffing and no referrer', async () => {
    const res = await fetch(`${service.url}/`);
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

    const script = await fetch(`${service.url}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await script.text()).toContain('fetch(url, init)');
  });
});

describe.skipIf(!chromiumPath)('the page in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  it('uploads a photo, shows queued → running → done live from one event stream, then the top 5 with espresso first; a non-image gets plain words', async () => {
    const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });
    const requested: string[] = [];
    page.on('request', (req) => requested.push(new URL(req.url()).pathname));
    await mkdir(outputDir, { recursive: true });

    await page.goto(`${service.url}/`);
    await page.setInputFiles('#file', path.join(imagesDir, 'coffee.png'));
    await page.waitForSelector('[data-step="queued"].current');
    await page.waitForSelector('#preview:not([hidden])');
    // No worker yet: the job waits, shown as queued, until one starts and takes it.
    startWorker();
    await page.waitForSelector('[data-step="active"].current');
    expect(await page.textContent('#status')).toBe('A worker is running the model…');
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
  });
});
