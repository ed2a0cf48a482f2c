/**
 * Raw ONNX Runtime measurement in its own process, with the settings in its environment
 * (MODEL_DIR, INTRA_OP_THREADS, INTRA_OP_SPINNING), so the bench can run several at once for a
 * multi-process layout and try each setting. Prints one JSON line.
 *   tsx bench/engine.ts throughput <batch,batch,...> <minImages>   -> { rows: [{ batch, images, ms, cpuMs }] }
 * `cpuMs` is the process's CPU time over the row (ONNX Runtime's threads run in it): the engine's
 * core-time, which the bench sets against the service's CPU per image.
 *   tsx bench/engine.ts latency <samples>                          -> { samplesMs: [...] } (batch 1)
 */
import { loadConfig } from '../src/config.js';
import { sharedImages } from './shared-images.js';
import { loadClassifier } from '../src/model/classifier.js';
import { decodeCrop, prepareImage } from '../src/model/preprocess.js';

const [mode, first, second] = process.argv.slice(2);
const config = loadConfig();
const classifier = await loadClassifier(config.models.dir, {
  intraOpThreads: config.worker.intraOpThreads,
  intraOpSpinning: config.worker.intraOpSpinning,
});
const crops = await Promise.all(
  (await sharedImages()).map(async (bytes) =>
    decodeCrop((await prepareImage(bytes, classifier.manifest, config.limits)).crop, classifier.manifest.inputSize),
  ),
);
const batch = (n: number) => Array.from({ length: n }, (_, i) => crops[i % crops.length]!);

if (mode === 'throughput') {
  const rows: { batch: number; images: number; ms: number; cpuMs: number }[] = [];
  for (const size of first!.split(',').map(Number)) {
    const input = batch(size);
    await classifier.run(input);
    let images = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    while (images < Math.max(Number(second), size)) {
      await classifier.run(input);
      images += size;
    }
    const ms = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    rows.push({ batch: size, images, ms, cpuMs: (user + system) / 1000 });
  }
  process.stdout.write(`${JSON.stringify({ rows })}\n`);
} else {
  const samplesMs: number[] = [];
  await classifier.run(batch(1));
  for (let i = 0; i < Number(first); i++) {
    const started = performance.now();
    await classifier.run(batch(1));
    samplesMs.push(performance.now() - started);
  }
  process.stdout.write(`${JSON.stringify({ samplesMs })}\n`);
}
await classifier.close();
