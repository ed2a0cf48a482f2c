import { parentPort, workerData } from 'node:worker_threads';
import { loadClassifier, type ClassifierOptions } from './classifier.js';
import type { FromThread, ToThread } from './inference-thread.js';

/** Entry of the inference thread started by startInferenceThread: one model, runs on request. */
const { modelDir, options } = workerData as { modelDir: string; options: ClassifierOptions };
const port = parentPort!;
const send = (message: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  const classifier = await loadClassifier(modelDir, options);
  const size = classifier.manifest.inputSize * classifier.manifest.inputSize * 3;
  port.on('message', (message: ToThread) => {
    if (message.type === 'close') {
      void classifier.close().finally(() => port.close());
      return;
    }
    const images = Array.from({ length: message.count }, (_, i) => message.pixels.subarray(i * size, (i + 1) * size));
    classifier.run(images).then(
      (rows) => {
        const classes = rows[0]?.length ?? 0;
        const logits = new Float32Array(rows.length * classes);
        rows.forEach((row, i) => logits.set(row, i * classes));
        send({ type: 'result', id: message.id, logits, classes }, [logits.buffer]);
      },
      (err: unknown) => send({ type: 'error', id: message.id, message: (err as Error).message }),
    );
  });
  send({
    type: 'ready',
    manifest: classifier.manifest,
    labels: [...classifier.labels],
    precision: classifier.precision,
    loadMs: classifier.loadMs,
  });
} catch (err) {
  send({ type: 'load-error', message: (err as Error).message });
}
