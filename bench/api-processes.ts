/**
 * `npx tsx bench/api-processes.ts [processes...]`: what API_PROCESSES buys, on `npm start`'s own layout
 * (dist/main.js: a private Redis, N API processes on one port, one worker). Per N, two figures at 16
 * closed-loop clients:
 *   - front door: the model's queue is paused, so the worker takes nothing and only the API works:
 *     POST /jobs of a shared photo, answered 202 (upload, decode, crop, enqueue), per second;
 *   - end to end: the queue resumed, each client submits and long-polls its job (bench/load.ts).
 * Not a test: the figures depend on the machine (docs/scaling.md). Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Queue } from 'bullmq';
import { projectRoot } from '../src/config.js';
import { keyPrefix, modelQueueName } from '../src/queue/keys.js';
import { connectRedis } from '../src/redis.js';
import { freePort } from '../src/redis-server.js';
import { sharedImages, submitImage } from './shared-images.js';
import { percentile, round } from './stats.js';

const clients = 16;
const warmupMs = 3000;
const measureMs = 15_000;
const counts = process.argv.slice(2).map(Number);
const log = (line: string) => process.stderr.write(`api-processes: ${line}\n`);

async function frontDoor(url: string, photo: Buffer) {
  const latencies: number[] = [];
  const start = performance.now();
  const until = start + warmupMs + measureMs;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const sent = performance.now();
        const res = await submitImage(url, photo).catch(() => undefined);
        await res?.arrayBuffer();
        if (sent >= start + warmupMs && res?.status === 202) {
          accepted++;
          latencies.push(performance.now() - sent);
        }
      }
    }),
  );
  return {
    acceptedPerS: round(accepted / (measureMs / 1000)),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
  };
}

async function endToEnd(url: string) {
  const load = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(projectRoot, 'bench/load.ts'), url, String(clients), '3000', '15000'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  load.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await once(load, 'exit');
  const samples = (
    JSON.parse(out.trim().split('\n').at(-1)!) as { samples: { ok: boolean; startMs: number; endMs: number }[] }
  ).samples.filter((s) => s.ok);
  const ms = samples.map((s) => s.endMs - s.startMs);
  return { imagesPerS: round(samples.length / 15), p50Ms: round(percentile(ms, 50)), p99Ms: round(percentile(ms, 99)) };
}

const photo = (await sharedImages())[0]!;
const rows = [];
for (const n of counts) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = spawn(process.execPath, [path.join(projectRoot, 'dist/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      API_PROCESSES: String(n),
      WORKERS: '1',
      MAX_QUEUE_DEPTH: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  service.stdout.on('data', (d: Buffer) => (output += d.toString()));
  while (!output.includes('"msg":"ready:')) await new Promise((r) => setTimeout(r, 200));
  const redisUrl = /"url":"(redis:\/\/[^"]+)"/.exec(output)![1]!;
  const model = /model (\S+)/.exec(/"msg":"(ready:[^"]+)"/.exec(output)![1]!)![1]!;
  const connection = connectRedis({ kind: 'url', url: redisUrl }, 'blocking');
  const queue = new Queue(modelQueueName('classify', model), { connection, prefix: keyPrefix });
  await queue.pause();
  const door = await frontDoor(url, photo);
  await queue.obliterate({ force: true });
  await queue.resume();
  const e2e = await endToEnd(url);
  await queue.close();
  service.kill('SIGTERM');
  await once(service, 'exit');
  const row = { apiProcesses: n, frontDoor: door, endToEnd: e2e };
  log(JSON.stringify(row));
  rows.push(row);
}
process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
