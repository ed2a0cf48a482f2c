import { parseArgs } from 'node:util';

export const usage = `usage: classify IMAGE... [--url URL] [--wait SECONDS] [--json] [--batch]

Submits each image to the service's POST /jobs, waits for the results through the long-poll
endpoint GET /jobs/:id/wait, and prints the top-5 labels of each (or JSON with --json).
With --batch, sends all images in one POST /batches (as bulk work) and shows its progress.

  --url URL         the service (default http://localhost:5000)
  --wait SECONDS    how long to wait for the results, from the start (default 60)
  --json            print one JSON array, one entry per image, in argument order
  --batch           one upload for all images, with a progress bar on stderr
  -h, --help        this text

exit codes: 0 all classified; 2 bad input (a file missing, or rejected by the service with a
4xx; also bad arguments); 3 server error (5xx, unreachable, or a failed job); 4 timed out.
When several images fail differently, the first of 3, 4, 2 is used.
`;

export interface ClassifyArgs {
  files: string[];
  /** Without a trailing slash. */
  url: string;
  waitSeconds: number;
  json: boolean;
  /** One POST /batches for all images instead of one POST /jobs each. */
  batch: boolean;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses the command line; anything wrong becomes a UsageError naming the argument. */
export function parseClassifyArgs(argv: readonly string[]): ClassifyArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: 'string', default: 'http://localhost:5000' },
        wait: { type: 'string', default: '60' },
        json: { type: 'boolean', default: false },
        batch: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { files: [], url: '', waitSeconds: 0, json: false, batch: false, help: true };
  if (positionals.length === 0) throw new UsageError('no image given');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError(`--url: "${values.url}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url: must be http:// or https://');
  const waitSeconds = Number(values.wait);
  if (values.wait.trim() === '' || !Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait: "${values.wait}" is not a number of seconds`);
  return { files: positionals, url: url.href.replace(/\/+$/, ''), waitSeconds, json: values.json, batch: values.batch, help: false };
}
