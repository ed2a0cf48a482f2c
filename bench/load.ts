/**
 * Closed-loop load generator, run as its own process so it does not share an event loop with
 * the service: N clients each submit a real image, wait for its result on the long-poll
 * endpoint, and go again. Prints one JSON line with per-request samples.
 *   tsx bench/load.ts <url> <clients> <warmupMs> <measureMs | 0> [requestsPerClient]
 */
import { sharedImages, submitImage } from './shared-images.js';

interface Sample {
  startMs: number;
  endMs: number;
  batchSize: number;
  ok: boolean;
  /** From the job's own timestamps: created -> started (queue), started -> finished (worker). */
  queueMs: number;
  workerMs: number;
}

type Outcome = Omit<Sample, 'startMs' | 'endMs'>;
const failed: Outcome = { batchSize: 0, ok: false, queueMs: 0, workerMs: 0 };

const [urlArg, clientsArg, warmupArg, measureArg, perClientArg] = process.argv.slice(2);
if (!urlArg) throw new Error('usage: tsx bench/load.ts <url> <clients> <warmupMs> <measureMs | 0> [requestsPerClient]');
const url: string = urlArg;
const clients = Number(clientsArg);
const warmupMs = Number(warmupArg);
const measureMs = Number(measureArg);
const perClient = Number(perClientArg ?? 0);

const images = (await sharedImages()).map((bytes) => new Blob([new Uint8Array(bytes)]));

async function classify(image: Blob): Promise<Outcome> {
  const submitted = await submitImage(url, image);
  const job = (await submitted.json()) as { links?: { wait: string } };
  if (submitted.status !== 202 || !job.links) return failed;
  for (;;) {
    const res = await fetch(`${url}${job.links.wait}?timeout=60`);
    const body = (await res.json()) as { status: string; batchSize?: number; createdAt: string; startedAt?: string; finishedAt?: string };
    if (res.status === 200 && body.status === 'completed') {
      const [created, started, finished] = [body.createdAt, body.startedAt!, body.finishedAt!].map(Date.parse) as [number, number, number];
      return { batchSize: body.batchSize ?? 0, ok: true, queueMs: started - created, workerMs: finished - started };
    }
    if (res.status !== 202) return failed;
  }
}

const t0 = performance.now();
const deadline = measureMs > 0 ? t0 + warmupMs + measureMs : Infinity;
const samples: Sample[] = [];
await Promise.all(
  Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; perClient === 0 || i < perClient; i++) {
      const startMs = performance.now() - t0;
      if (t0 + startMs >= deadline) break;
      const outcome = await classify(images[(c + i) % images.length]!);
      samples.push({ startMs, endMs: performance.now() - t0, ...outcome });
    }
  }),
);
const { user, system } = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ clients, warmupMs, measureMs, samples, cpuSeconds: (user + system) / 1e6 })}\n`);
