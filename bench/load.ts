/**
 * Closed-loop load generator, run as its own process so it does not share an event loop with
 * the service: N clients each submit a real image, wait for its result on the long-poll
 * endpoint, and go again. Prints one JSON line with per-request samples.
 *   tsx bench/load.ts <url> <clients> <warmupMs> <measureMs | 0> [requestsPerClient] [phoneFraction phoneDir]
 * With a phone fraction, that share of requests (spread evenly) sends one of the 12 MP JPEGs in
 * phoneDir (written by the bench with bench/phone-photos.ts) instead of a shared photo. With
 * `--prefer-wait` anywhere in the arguments, each client sends `Prefer: wait=60` on the POST and
 * reads the result from its answer (one request per image) instead of a second request to /wait.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { sharedImages, submitImage } from './shared-images.js';

export interface Sample {
  startMs: number;
  endMs: number;
  batchSize: number;
  ok: boolean;
  phone: boolean;
  /** From the job's own timestamps: created -> started (queue), started -> finished (worker). */
  queueMs: number;
  workerMs: number;
  /**
   * For the stage breakdown: the job, the client's epoch ms at start and end, and the API's
   * Server-Timing durations.
   */
  id?: string;
  startEpochMs: number;
  endEpochMs: number;
  serverTiming: Record<string, number>;
}

type Outcome = Omit<Sample, 'startMs' | 'endMs' | 'phone' | 'startEpochMs' | 'endEpochMs'>;
const failed: Outcome = { batchSize: 0, ok: false, queueMs: 0, workerMs: 0, serverTiming: {} };

const preferWait = process.argv.includes('--prefer-wait');
const [urlArg, clientsArg, warmupArg, measureArg, perClientArg, phoneFractionArg, phoneDir] = process.argv
  .slice(2)
  .filter((a) => a !== '--prefer-wait');
if (!urlArg)
  throw new Error(
    'usage: tsx bench/load.ts <url> <clients> <warmupMs> <measureMs | 0> [requestsPerClient] ' +
      '[phoneFraction phoneDir] [--prefer-wait]',
  );
const url: string = urlArg;
const clients = Number(clientsArg);
const warmupMs = Number(warmupArg);
const measureMs = Number(measureArg);
const perClient = Number(perClientArg ?? 0);
const phoneFraction = Number(phoneFractionArg ?? 0);

const toBlob = (bytes: Buffer) => new Blob([new Uint8Array(bytes)]);
const images = (await sharedImages()).map(toBlob);
const phones =
  phoneFraction > 0 && phoneDir
    ? await Promise.all(
        (await readdir(phoneDir)).sort().map(async (n) => toBlob(await readFile(path.join(phoneDir, n)))),
      )
    : [];

/** `upload;dur=1.2, preprocess;dur=3.4` -> { upload: 1.2, preprocess: 3.4 } */
function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of header?.split(',') ?? []) {
    const match = /^\s*([\w-]+)\s*;.*dur=([\d.]+)/.exec(part);
    if (match) out[match[1]!] = Number(match[2]);
  }
  return out;
}

async function classify(image: Blob): Promise<Outcome> {
  const submitted = await submitImage(url, image, preferWait ? { Prefer: 'wait=60' } : {});
  const serverTiming = parseServerTiming(submitted.headers.get('server-timing'));
  if (preferWait && submitted.status === 200) return outcome(submitted, serverTiming);
  const job = (await submitted.json()) as { id?: string; links?: { wait: string } };
  if (submitted.status !== 202 || !job.links) return failed;
  for (;;) {
    const res = await fetch(`${url}${job.links.wait}?timeout=60`);
    if (res.status === 200) return outcome(res, serverTiming);
    await res.body?.cancel();
    if (res.status !== 202) return failed;
  }
}

/** A finished job's answer (200) as a sample: its batch, its timestamps, and the Server-Timing of both answers. */
async function outcome(res: Response, serverTiming: Record<string, number>): Promise<Outcome> {
  const body = (await res.json()) as {
    id: string;
    status: string;
    batchSize?: number;
    createdAt: string;
    startedAt?: string;
    finishedAt?: string;
  };
  if (body.status !== 'completed') return failed;
  const [created, started, finished] = [body.createdAt, body.startedAt!, body.finishedAt!].map(Date.parse) as [
    number,
    number,
    number,
  ];
  Object.assign(serverTiming, parseServerTiming(res.headers.get('server-timing')));
  return {
    id: body.id,
    batchSize: body.batchSize ?? 0,
    ok: true,
    queueMs: started - created,
    workerMs: finished - started,
    serverTiming,
  };
}

/** Whether request n is a phone photo: an even spread, `phoneFraction` of all requests, starting with the first. */
const isPhone = (n: number) => phones.length > 0 && Math.floor(n * phoneFraction) > Math.floor((n - 1) * phoneFraction);

const t0 = performance.now();
const deadline = measureMs > 0 ? t0 + warmupMs + measureMs : Infinity;
const samples: Sample[] = [];
let requestNumber = 0;
await Promise.all(
  Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; perClient === 0 || i < perClient; i++) {
      const startMs = performance.now() - t0;
      if (t0 + startMs >= deadline) break;
      const n = requestNumber++;
      const phone = isPhone(n);
      const startEpochMs = Date.now();
      const outcome = await classify(phone ? phones[n % phones.length]! : images[(c + i) % images.length]!);
      samples.push({ startMs, endMs: performance.now() - t0, phone, startEpochMs, endEpochMs: Date.now(), ...outcome });
    }
  }),
);
const { user, system } = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({ clients, warmupMs, measureMs, samples, cpuSeconds: (user + system) / 1e6 })}\n`,
);
