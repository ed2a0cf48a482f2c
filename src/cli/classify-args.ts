import { parseArgs } from 'node:util';

export const usage = `\
usage: classify IMAGE... [--url URL] [--model NAME] [--api-key KEY] [--wait SECONDS] [--json] [--batch]

Submits each image to the service's POST /jobs, waits for the results through the long-poll
endpoint GET /jobs/:id/wait, and prints the top-5 labels of each (or JSON with --json).
IMAGE may be a glob pattern ('photos/*.jpg'); on a terminal a progress line counts the results.
With --batch, sends all images in one POST /batches (as bulk work) and shows its progress.

  --url URL         the service (default: $CLASSIFY_URL, else http://localhost:5000)
  --model NAME      the model to classify with (GET /models lists them; default: the service's)
  --api-key KEY     sent as Authorization: Bearer KEY (default: $CLASSIFY_API_KEY)
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
  /** `model` sent with every submission; undefined: the service's default. */
  model: string | undefined;
  /** Sent as a bearer token when the service has API_KEYS; from --api-key, else CLASSIFY_API_KEY. */
  apiKey: string | undefined;
  waitSeconds: number;
  json: boolean;
  /** One POST /batches for all images instead of one POST /jobs each. */
  batch: boolean;
  help: boolean;
}

/** Defaults from the environment (cliEnv in config.ts): CLASSIFY_API_KEY and CLASSIFY_URL. */
export interface ClassifyEnv {
  apiKey?: string | undefined;
  url?: string | undefined;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Parses the command line; anything wrong becomes a UsageError naming the argument. `env` supplies
 * defaults (cliEnv in config.ts).
 */
export function parseClassifyArgs(argv: readonly string[], env: ClassifyEnv = {}): ClassifyArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        model: { type: 'string' },
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
  if (values.help)
    return {
      files: [],
      url: '',
      model: undefined,
      apiKey: undefined,
      waitSeconds: 0,
      json: false,
      batch: false,
      help: true,
    };
  if (positionals.length === 0) throw new UsageError('no image given');
  const urlSource = values.url !== undefined ? '--url' : 'CLASSIFY_URL';
  const rawUrl = values.url ?? env.url ?? 'http://localhost:5000';
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError(`${urlSource}: "${rawUrl}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${urlSource}: must be http:// or https://`);
  const waitSeconds = Number(values.wait);
  if (values.wait.trim() === '' || !Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new UsageError(`--wait: "${values.wait}" is not a number of seconds`);
  const apiKey = values['api-key'] ?? env.apiKey;
  if (apiKey !== undefined && !/^\S+$/.test(apiKey)) throw new UsageError('--api-key: must be one word (no spaces)');
  const model = values.model;
  if (model !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(model))
    throw new UsageError(`--model: "${model}" is not a model name`);
  return {
    files: positionals,
    url: url.href.replace(/\/+$/, ''),
    model,
    apiKey,
    waitSeconds,
    json: values.json,
    batch: values.batch,
    help: false,
  };
}
