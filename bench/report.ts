/**
 * The text report of `npm run bench`: the tables and target lines printed from one run's results
 * (the same numbers bench/results/latest.json holds). Rendering only: nothing here measures.
 */
import path from 'node:path';
import { projectRoot } from '../src/config.js';
import type { BenchResults } from './run.js';
import { round } from './stats.js';

const pad = (v: unknown, n: number) => String(v).padStart(n);
/** Table rows start under their title's last column name ("batch", "clients"). */
const rowIndent = ' '.repeat(38);

type ModelResult = NonNullable<BenchResults['models'][keyof BenchResults['models']]>;

/** Where one image's CPU went at the budget step, with what cannot be avoided set against it. */
function budgetLines(r: ModelResult): string[] {
  const b = r.budget;
  const cost = r.costs[b.clients]!;
  const row = (name: string, ms: number | string, note = '') => `      ${name.padEnd(44)} ${pad(ms, 8)}  ${note}`;
  return [
    `  CPU per image at ${b.clients} clients (${b.imagesPerSecond} images/s), ms:`,
    ...Object.entries(cost.msPerImage).map(([name, ms]) =>
      row(
        name,
        ms,
        name === 'load generator' ? '(not the service)' : name === 'redis' ? '(/proc; INFO cpu below)' : '',
      ),
    ),
    row('service (API + workers + Redis)', b.serviceCpuMs),
    row("- engine core-time at the worker's batches", b.engineCoreMsAtWorkerBatches, batchMixText(r)),
    row('- bare decode (sharp, one thread)', b.decodeCpuMs),
    row('= overhead', b.overheadMs, `of which smaller batches than the best: ${b.batchShortfallMs}`),
    `  limit = cores x 1000 / (engine best ${b.engineCoreMsBest} + decode ${b.decodeCpuMs}) = ` +
      `${b.limitImagesPerSecond} images/s; service at ${b.clients} clients = ${b.ofLimit} of it`,
    `  decode per image, one thread: bare sharp ${r.decode.bare.cpuMs} ms CPU (${r.decode.bare.wallMs} ms wall); ` +
      `the API's prepareImage ${r.decode.prepareImage.cpuMs} ms CPU (${r.decode.prepareImage.wallMs} ms wall)`,
    `  Redis per job at ${b.clients} clients: ${cost.redis.commands} commands (scripts' included), ` +
      `${cost.redis.scripts} script calls, ${cost.redis.cpuMs} ms CPU, ${cost.redis.bytesIn} B in, ` +
      `${cost.redis.bytesOut} B out`,
    `    by command: ${Object.entries(cost.redis.byCommand)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')}`,
    `  Redis per job, MONITOR of ${r.monitored.jobs} sequential jobs: ${r.monitored.roundTrips} round trips, ` +
      `${r.monitored.commands} commands`,
    `    first job: ${r.monitored.firstJob.join(' | ')}`,
  ];
}

function batchMixText(r: ModelResult): string {
  const mix = Object.entries(r.budgetBatchSizes)
    .map(([b, share]) => `b${b} ${Math.round(share * 100)}%`)
    .join(' ');
  return `(${mix})`;
}

export function renderReport(results: BenchResults): string {
  const { settings } = results;
  const lines = [
    `Machine: ${results.machine.cores} cores, ${results.machine.cpu} (int8: ${results.machine.int8Instructions}), ` +
      `Node ${results.machine.node}, load average at the end ${results.machine.loadAverage.join(' ')}`,
    `Command: ${results.command}`,
    `Settings: ${settings.workerProcesses} worker process(es), INTRA_OP_SPINNING=${settings.intraOpSpinning} ` +
      `MAX_BATCH=${settings.maxBatch} MAX_BATCH_DELAY_MS=${settings.maxBatchDelayMs} ` +
      `WORKER_CONCURRENCY=${settings.workerConcurrency} INTRA_OP_THREADS=${settings.intraOpThreads}`,
  ];
  for (const [model, r] of Object.entries(results.models)) {
    const spinRows = Object.entries(r.engine.bySpinning);
    lines.push(
      '',
      `== ${model} (${path.relative(projectRoot, r.modelDir)})`,
      `Engine (ONNX Runtime, ${settings.workerProcesses} process(es)) batch ` +
        spinRows.map(([s]) => pad(`img/s spin=${s === 'true' ? 'on' : 'off'}`, 17)).join('') +
        pad('core ms/img', 13),
      ...r.engine.bySpinning[spinRows[0]![0]]!.rows.map(
        (row, i) =>
          `${rowIndent}${pad(row.batch, 5)} ` +
          spinRows.map(([, v]) => pad(`${v.rows[i]!.imagesPerSecond} (${v.rows[i]!.msPerBatch} ms)`, 17)).join('') +
          pad(r.engine.served[i]?.coreMsPerImage ?? '', 13),
      ),
      `  best raw: ${r.engine.best.imagesPerSecond} img/s (batch ${r.engine.best.batch}, ` +
        `spinning ${r.engine.best.spinning ? 'on' : 'off'}); batch-1 latency p50 ${r.engine.batch1.p50Ms} ms, ` +
        `p99 ${r.engine.batch1.p99Ms} ms; least core-time ${r.engine.bestCoreMsPerImage} ms/img ` +
        `(batch ${r.engine.bestCoreBatch}, spinning ${settings.intraOpSpinning ? 'on' : 'off'})`,
      'End to end (HTTP + queue + worker)   clients   images/s   p50 ms   p95 ms   p99 ms   ' +
        'mean batch   queued ms   in worker ms   errors',
      ...r.saturated.map(
        (s) =>
          rowIndent +
          [
            pad(s.clients, 5),
            pad(s.imagesPerSecond, 10),
            pad(s.p50Ms, 8),
            pad(s.p95Ms, 8),
            pad(s.p99Ms, 8),
            pad(s.meanBatch, 12),
            pad(s.queueMs, 11),
            pad(s.workerMs, 14),
            pad(s.errors, 8),
          ].join(' '),
      ),
      ...budgetLines(r),
      `  phone mix (${r.phoneMix.clients} clients, ${r.phoneMix.phoneRequests}/${r.phoneMix.requests} requests ` +
        `12 MP EXIF-rotated JPEGs): ${r.phoneMix.imagesPerSecond} images/s vs ` +
        `${r.phoneMix.smallMixImagesPerSecond} small-photo mix, p50 ${r.phoneMix.p50Ms} ms, ` +
        `p99 ${r.phoneMix.p99Ms} ms, errors ${r.phoneMix.errors}`,
      `  1 client, sequential: POST + /wait p50 ${r.light.p50Ms} ms, p99 ${r.light.p99Ms} ms ` +
        `(${r.light.requests} requests); POST with Prefer: wait p50 ${r.lightPreferWait.p50Ms} ms, ` +
        `p99 ${r.lightPreferWait.p99Ms} ms`,
      '  POST + /wait, median per stage (ms):',
      ...Object.entries(r.stages).map(([name, ms]) => `      ${name.padEnd(40)} ${pad(ms, 7)}`),
      `  workers alone, draining ${r.drain.jobs} queued jobs with the API idle: ${r.drain.imagesPerSecond} images/s`,
      `  API CPU per upload (queue paused): small photo ${r.apiCpuMsPerUpload.small} ms, ` +
        `12 MP phone JPEG ${r.apiCpuMsPerUpload.phone} ms`,
      `  CPU ms per image at ${r.apiEventLoopDelayMs.atClients} clients, by process: ${Object.entries(
        r.cpuMsPerImageAtTopLoad,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `  Redis per queued job: ${r.footprint.bytesPerJob} bytes (${r.footprint.kibPerJob} KiB) ` +
        `over ${r.footprint.jobs} jobs`,
      `  API event-loop delay at ${r.apiEventLoopDelayMs.atClients} clients: ` +
        `p50 ${round(r.apiEventLoopDelayMs.p50)} ms, p99 ${round(r.apiEventLoopDelayMs.p99)} ms, ` +
        `max ${round(r.apiEventLoopDelayMs.max)} ms`,
      `Target (${model})                                   measured     target   met`,
      ...Object.entries({
        [`overhead per image at ${r.budget.clients} clients (ms)`]: r.targets.overheadMs,
        [`service at ${r.budget.clients} clients / limit`]: r.targets.ofLimit,
        '1-client p50, best of the two shapes (ms)': r.targets.c1P50Ms,
        'Redis CPU per job (ms)': r.targets.redisCpuMsPerJob,
        'Redis commands per job (scripts included)': r.targets.redisCommandsPerJob,
        'e2e best / engine best raw throughput': r.targets.throughputRatio,
        'workers alone (API idle) / engine best raw': r.targets.drainRatio,
        'light-load p50 - engine batch-1 p50 (ms)': r.targets.lightLoadOverheadMs,
        'phone mix / small-photo mix throughput': r.targets.phoneMixRatio,
        'API CPU per 12 MP phone JPEG (ms)': r.targets.apiCpuMsPerPhoneJpeg,
        [`mean batch at ${r.apiEventLoopDelayMs.atClients} clients`]: r.targets.meanBatchAtTopLoad,
        [`p99 at ${r.apiEventLoopDelayMs.atClients} clients / full batch (${settings.maxBatch}) time`]:
          r.targets.p99OverFullBatch,
        'Redis KiB per queued job': r.targets.redisKibPerJob,
        'API event-loop delay p99 (ms)': r.targets.apiLoopDelayP99Ms,
      }).map(([name, t]) => `${name.padEnd(46)} ${pad(t.value, 9)} ${pad(t.target, 10)}   ${t.met ? 'yes' : 'NO'}`),
    );
  }
  const x = results.int8OverFp32;
  if (results.models.fp32 && results.models.int8) {
    lines.push(
      '',
      `int8 / fp32: engine best ${x.engineBest}x, batch-1 latency ${x.engineBatch1Latency}x, ` +
        `end-to-end best ${x.endToEndBest}x, light-load p50 ${x.lightLoadP50}x`,
    );
  }
  const agreement = results.agreement;
  if (agreement) {
    lines.push(
      'Top-1 agreement int8 vs fp32 on the shared photos: reference crops ' +
        `${agreement.referenceAgreeing}/${agreement.photos}, ` +
        `all views ${agreement.viewsAgreeing}/${agreement.views}: ` +
        `${agreement.passed ? 'passed' : 'FAILED'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
