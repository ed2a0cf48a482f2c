import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Without the background-networking flags Chromium's own connections fail on a closed network. */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium every browser test drives through playwright-core (which downloads no browser):
 * `CHROME_PATH` when set, else `chromium` or `chromium-browser` on the PATH (Debian's package,
 * `apt-get install -y chromium`, installs the first).
 */
function findChromium(): string | undefined {
  const configured = process.env['CHROME_PATH'];
  if (configured) return configured;
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of dirs) if (executable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export const chromiumPath = findChromium();

/** Why browser tests are skipped, said once per file that needs the browser; empty when one was found. */
export function reportMissingChromium(what: string): void {
  if (!chromiumPath)
    process.stderr.write(
      `${what}: browser test skipped: no Chromium (set CHROME_PATH, or put chromium or chromium-browser ` +
        `on the PATH; Debian: apt-get install -y chromium)\n`,
    );
}

export function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error('no Chromium found');
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}
