import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Classifier, ClassifierOptions } from './classifier.js';
import { ModelLoadError } from './classifier.js';
import type { Manifest } from './manifest.js';
import type { Precision } from './precision.js';
import { topK } from './top-k.js';

/** Main thread -> inference thread. */
export type ToThread = { type: 'run'; id: number; pixels: Uint8Array; count: number } | { type: 'close' };

/** Inference thread -> main thread. */
export type FromThread =
  | { type: 'ready'; manifest: Manifest; labels: string[]; precision: Precision; loadMs: number }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; logits: Float32Array; classes: number }
  | { type: 'error'; id: number; message: string };

export interface InferenceThreadOptions extends ClassifierOptions {
  /** Called if the thread dies unexpectedly: this process can no longer run the model. */
  onExit?: (err: Error) => void;
}

const here = fileURLToPath(import.meta.url);
/** Same extension as this file: compiled JS in production, TypeScript under tsx or vitest. */
const threadEntry = path.join(path.dirname(here), `inference-thread-main${path.extname(here)}`);

/**
 * The model in a worker thread. onnxruntime-node's `session.run` is synchronous on the calling
 * thread (its promise only defers the native call with setImmediate), so on the main thread a
 * batch would freeze the event loop for its whole duration: no BullMQ lock renewal, no intake of
 * the next jobs. Here the main thread packs each batch into one buffer that is transferred, not
 * copied, and gets the logits back the same way. Same interface as loadClassifier.
 */
export async function startInferenceThread(modelDir: string, options: InferenceThreadOptions): Promise<Classifier> {
  const workerData = {
    modelDir,
    options: { intraOpThreads: options.intraOpThreads, intraOpSpinning: options.intraOpSpinning },
  };
  const entryUrl = JSON.stringify(pathToFileURL(threadEntry).href);
  const worker = threadEntry.endsWith('.ts')
    ? // Node 20 does not apply `--import tsx` inside worker threads: register tsx from the thread itself.
      new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${entryUrl}); })`, {
        eval: true,
        workerData,
      })
    : new Worker(threadEntry, { workerData });
  const pending = new Map<number, { resolve: (logits: Float32Array[]) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let closing = false;

  const ready = await new Promise<Extract<FromThread, { type: 'ready' }>>((resolve, reject) => {
    worker.once('message', (message: FromThread) => {
      if (message.type === 'ready') resolve(message);
      else
        reject(
          new ModelLoadError(message.type === 'load-error' ? message.message : 'inference thread failed to start'),
        );
    });
    worker.once('error', reject);
  });

  worker.on('message', (message: FromThread) => {
    if (message.type !== 'result' && message.type !== 'error') return;
    const caller = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'error') caller?.reject(new Error(message.message));
    else {
      const { logits, classes } = message;
      caller?.resolve(
        Array.from({ length: logits.length / classes }, (_, i) => logits.subarray(i * classes, (i + 1) * classes)),
      );
    }
  });
  worker.on('exit', (code) => {
    const err = new Error(`inference thread exited with code ${code}`);
    for (const caller of pending.values()) caller.reject(err);
    pending.clear();
    if (!closing) options.onExit?.(err);
  });
  worker.on('error', (err) => {
    if (!closing) options.onExit?.(err);
  });

  const size = ready.manifest.inputSize * ready.manifest.inputSize * 3;
  return {
    manifest: ready.manifest,
    labels: ready.labels,
    precision: ready.precision,
    loadMs: ready.loadMs,
    run: (images) =>
      new Promise<Float32Array[]>((resolve, reject) => {
        if (closing) return reject(new Error('inference thread is closed'));
        const pixels = new Uint8Array(images.length * size);
        images.forEach((image, i) => pixels.set(image, i * size));
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'run', id, pixels, count: images.length } satisfies ToThread, [pixels.buffer]);
      }),
    predictions: (logits, k) => topK(logits, ready.labels, k),
    close: async () => {
      if (closing) return;
      closing = true;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ type: 'close' } satisfies ToThread);
      await exited;
    },
  };
}
