import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/api/openapi/build-openapi-document.js';
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
      // Plain words, naming the model that answered.
      expect(await page.textContent('#status')).toMatch(
        new RegExp(
          '^Answered by resnet50-v1\\.5-int8 in (under 0\\.1|[\\d.]+) seconds' +
            '(, [\\d.]+ seconds of it waiting for a free worker)?\\.$',
        ),
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
      const batchRows = await page.locator('#batch > li').allTextContents();
      expect(batchRows).toHaveLength(3);
      // Each image's top 3 beside its thumbnail.
      expect(batchRows[0]).toMatch(/^coffee\.pngespresso\d{2}\.\d %cup\d\.\d %consomme\d\.\d %$/);
      expect(batchRows[1]).toBe('notes.txtThat file is not an image the service can read.');
      expect(batchRows[2]).toMatch(/^orange\.jpgorange\d{2}\.\d %lemon\d\.\d %/);
      const thumbs = await page
        .locator('#batch li canvas')
        .evaluateAll((c) => c.map((e) => (e as { width: number }).width));
      expect(thumbs[0]).toBeGreaterThan(0);
      expect(thumbs[2]).toBeGreaterThan(0);
      expect(await page.textContent('#status')).toBe('Done: 2 of 3 images classified, 1 failed.');
      expect(await page.isHidden('#results')).toBe(true);
      await page.screenshot({ path: path.join(outputDir, 'web-page-batch.png'), fullPage: true });

      expect(problems).toEqual([]);
    },
  );
});

/**
 * WCAG contrast of every visible text node against the background actually painted behind it (the
 * first ancestor with an opaque background), computed from Chromium's computed colours. A string:
 * the tests compile without the DOM typings.
 */
const measureContrast = `(() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return undefined;
    const [r, g, b, a = 1] = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const channel = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const luminance = ({ r, g, b }) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) return c;
    }
    // Nothing painted: the canvas, which a dark colour scheme paints #121212 in Chromium.
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    return dark ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || el.closest('[hidden]') || el.closest('select') || !el.getClientRects().length)
      continue;
    const style = getComputedStyle(el);
    const fg = parse(style.color);
    const bg = background(el);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    const ratio = (hi + 0.05) / (lo + 0.05);
    found.push({ text: node.textContent.trim().slice(0, 40), ratio, needs: large ? 3 : 4.5 });
  }
  return found;
})()`;

describe.skipIf(!chromiumPath)('the page at / in both themes, desktop and phone', () => {
  let api: InProcessApi;
  beforeAll(async () => {
    api = await startInProcessApi(testConfig(inject('redisUrl')));
    await api.startWorker();
  });
  afterAll(() => api?.close());

  it.each(
    (['light', 'dark'] as const).flatMap((theme) =>
      (
        [
          ['desktop', { width: 1280, height: 860 }],
          ['phone', { width: 390, height: 844 }],
        ] as const
      ).map(([device, viewport]) => [theme, device, viewport] as const),
    ),
  )(
    '%s theme at %s width: the model picker, a link to /docs, the answer, and every text at AA contrast',
    async (theme, device, viewport) => {
      const context = await browser!.newContext({ viewport, colorScheme: theme, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${api.url}/`);
      await page.waitForSelector('#model-picker:not([hidden])');
      expect(await page.locator('#model option').allTextContents()).toEqual(['resnet50-v1.5-int8 (int8)']);
      expect(await page.getAttribute('a[href="/docs"]', 'href')).toBe('/docs');
      expect(await page.textContent('#hint')).toBe(
        'JPEG, PNG, WebP, GIF, AVIF or TIFF; several at once are sent as one batch; up to 10 MB each',
      );
      await page.setInputFiles('#file', path.join(imagesDir, 'eagle.jpg'));
      await page.waitForSelector('#results:not([hidden])');
      const rows = await page.locator('#results li').allTextContents();
      expect(rows[0]).toMatch(/^bald eagle7\d\.\d %$/);
      // prairie_chicken and below are under 0.1 %: never shown as "0.0 %".
      expect(rows.slice(2)).toEqual([
        expect.stringMatching(/< 0\.1 %$/),
        expect.stringMatching(/< 0\.1 %$/),
        expect.stringMatching(/< 0\.1 %$/),
      ]);
      expect(await page.textContent('#status')).toMatch(/^Answered by resnet50-v1\.5-int8 in /);

      const measured = await page.evaluate<{ text: string; ratio: number; needs: number }[]>(measureContrast);
      expect(measured.length).toBeGreaterThan(10);
      expect(measured.filter((m) => m.ratio < m.needs)).toEqual([]);
      await page.screenshot({ path: path.join(outputDir, `page-${device}-${theme}.png`), fullPage: true });
      await context.close();
    },
  );

  it('refuses a file over the limit before previewing or sending it, in MB', async () => {
    const page = await browser!.newPage();
    const sent: string[] = [];
    page.on('request', (req) => sent.push(new URL(req.url()).pathname));
    await page.goto(`${api.url}/`);
    await page.setInputFiles('#file', {
      name: 'huge.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.concat([await readFile(path.join(imagesDir, 'eagle.jpg')), Buffer.alloc(12 * 1024 * 1024)]),
    });
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toMatch(
      /^huge\.jpg is 1\d MB; the limit is 10 MB\. \(payload_too_large\)$/,
    );
    expect(await page.isHidden('#preview')).toBe(true);
    expect(sent.filter((p) => p === '/jobs' || p === '/batches')).toEqual([]);
    await page.close();
  });
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

describe.skipIf(!chromiumPath)('/docs on a phone', () => {
  it("lists the sections in a user's order, keeps error codes whole and scrolls the error table", async () => {
    const page = await browser!.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${site.url}/docs`);
    await page.waitForSelector('[id="tag/errors"]', { state: 'attached' });
    // Strings evaluated in the page: the tests compile without the DOM typings.
    const sections = await page.evaluate<string[]>(
      `[...document.querySelectorAll('li[data-item-id^="tag/"]')].map((i) => i.getAttribute('data-item-id'))` +
        ".filter((id) => !id.includes('/paths/'))",
    );
    expect(sections).toEqual([
      'tag/jobs',
      'tag/tutorial',
      'tag/batches',
      'tag/models',
      'tag/webhooks',
      'tag/replicate',
      'tag/open-inference',
      'tag/operations',
      'tag/errors',
    ]);
    const table = 'document.querySelector(\'[id="tag/errors"] table\')';
    expect(await page.evaluate(`getComputedStyle(${table}).overflowX`)).toBe('auto');
    // Each code is one line box: no `missin/g_imag/e`.
    const codes = await page.evaluate<{ code: string; lines: number }[]>(
      `[...${table}.querySelectorAll('td:first-child code')]` +
        '.map((c) => ({ code: c.textContent, lines: c.getClientRects().length }))',
    );
    expect(codes.length).toBeGreaterThan(15);
    expect(codes.filter((c) => c.lines !== 1)).toEqual([]);
    await page.screenshot({ path: path.join(outputDir, 'docs-phone.png') });
    await page.close();
  });
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
