import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../run-main.js';
import type { DownloadProgress } from './download-file.js';
import { describeProgress, progressBar, progressLines } from './download-progress.js';
import { fetchModel } from './fetch-model.js';
import { configuredModelSource, zooResNet50ByPrecision } from './model-source.js';

/**
 * `npm run model:fetch [-- --precision int8]`: puts the model of MODEL_URL/MODEL_SHA256 (by
 * default the ONNX Model Zoo ResNet50 v1, float32, or its int8 build with `--precision int8`)
 * into MODEL_DIR. A progress bar on a terminal, plain lines otherwise; exit 0 when
 * the verified model is in place, 1 with one line saying why when not. Ctrl-C keeps the partial
 * download for the next run to resume.
 */
const config = loadConfigOrExit('model:fetch');
const { values: args } = parseArgs({ options: { precision: { type: 'string', default: 'fp32' } } });
if (args.precision !== 'fp32' && args.precision !== 'int8') {
  process.stderr.write(`model:fetch: --precision must be fp32 or int8, not "${args.precision}"\n`);
  process.exit(2);
}
const source = configuredModelSource(config.models) ?? zooResNet50ByPrecision[args.precision];
const bar = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
const say = (message: string) => {
  bar?.end();
  process.stderr.write(`model:fetch: ${message}\n`);
};
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

const showProgress = bar ? (p: DownloadProgress) => bar.update(p) : progressLines(say);
let lastProgress: DownloadProgress | undefined;
try {
  const outcome = await fetchModel(config.models.dir, source, {
    whenPresent: 'verify',
    log: say,
    onProgress: (p) => {
      lastProgress = p;
      showProgress(p);
    },
    signal: stop.signal,
  });
  say(
    outcome === 'present'
      ? `${config.models.dir} already has ${source.name} (sha256 verified)`
      : `${source.name} is ready in ${config.models.dir}`,
  );
} catch (err) {
  const progress = lastProgress ? ` after ${describeProgress(lastProgress)}; run again to resume` : '';
  say(stop.signal.aborted ? `stopped${progress}` : `failed: ${(err as Error).message}`);
  process.exitCode = stop.signal.aborted ? 130 : 1;
}
