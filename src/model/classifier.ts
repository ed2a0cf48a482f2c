import { access } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Prediction } from './prediction.js';
import { loadLabels } from './labels.js';
import { loadManifest, type Manifest } from './manifest.js';
import { modelPrecision, type Precision } from './precision.js';
import { inputDims, toInputTensor } from './tensor.js';
import { topK } from './top-k.js';

export interface ClassifierOptions {
  /** ONNX Runtime intra-op threads (the worker's share of the cores). */
  intraOpThreads: number;
  /** Whether idle intra-op threads spin (ORT's session.intra_op.allow_spinning); default true. */
  intraOpSpinning?: boolean;
}

export interface Classifier {
  readonly manifest: Manifest;
  readonly labels: readonly string[];
  /** The manifest's `precision`, else read from the graph's operators. */
  readonly precision: Precision;
  /** Wall time of session creation plus the warm-up run, ms. */
  readonly loadMs: number;
  /** One forward pass over all images (HWC RGB crops of manifest.inputSize); returns the logits of each. */
  run(images: readonly Uint8Array[]): Promise<Float32Array[]>;
  /** Softmax + top-k of one image's logits. */
  predictions(logits: Float32Array, k: number): Prediction[];
  close(): Promise<void>;
}

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

/**
 * Loads a classifier from a model directory: manifest, labels, ONNX session. Input and output
 * names come from the session. A warm-up run checks that the model accepts the manifest's
 * input size and emits one logit per label, so a worker never takes jobs with a broken model.
 */
export async function loadClassifier(modelDir: string, options: ClassifierOptions): Promise<Classifier> {
  const started = performance.now();
  const fail = (what: string, err?: unknown): never => {
    throw new ModelLoadError(`model in ${modelDir}: ${what}${err instanceof Error ? `: ${err.message}` : ''}`);
  };
  const manifest = await loadManifest(modelDir).catch((err: unknown) => fail('bad manifest', err));
  const modelFile = path.join(modelDir, manifest.file);
  await access(modelFile).catch(() =>
    fail(
      `${manifest.file} not found ` +
        '(set MODEL_DIR to a directory that holds it, or fetch one with "npm run model:fetch")',
    ),
  );
  const labels = await loadLabels(path.join(modelDir, manifest.labels)).catch((err: unknown) =>
    fail('bad labels', err),
  );
  // Read before the session is created: the file's bytes can be collected before ORT holds its own copy.
  const precision = await modelPrecision(modelFile, manifest.precision).catch((err: unknown) =>
    fail(`${manifest.file} is not a loadable ONNX model`, err),
  );
  const session = await ort.InferenceSession.create(modelFile, {
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: options.intraOpSpinning === false ? '0' : '1' } } },
  }).catch((err: unknown) => fail(`${manifest.file} is not a loadable ONNX model`, err));
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  if (inputName === undefined || outputName === undefined) return fail('the graph has no input or no output');

  const size = manifest.inputSize;
  /** One input buffer for every batch, grown to the largest seen: no 600 KB allocation per image per batch. */
  let batchBuffer = new Float32Array(0);
  /** Runs one after another: each fills batchBuffer, which the previous run may still be reading. */
  let previous: Promise<unknown> = Promise.resolve();
  const runNow = async (images: readonly Uint8Array[]): Promise<Float32Array[]> => {
    const needed = images.length * 3 * size * size;
    if (batchBuffer.length < needed) batchBuffer = new Float32Array(needed);
    const data = toInputTensor(images, manifest, batchBuffer);
    const input = new ort.Tensor('float32', data, inputDims(images.length, manifest));
    const output = (await session.run({ [inputName]: input }))[outputName];
    if (!output || output.dims.length !== 2 || output.dims[0] !== images.length) {
      throw new Error(
        `model output ${outputName} has shape [${output?.dims.join(', ') ?? ''}], expected [${images.length}, classes]`,
      );
    }
    const logits = output.data as Float32Array;
    const classes = output.dims[1]!;
    return images.map((_, i) => logits.subarray(i * classes, (i + 1) * classes));
  };
  const run = (images: readonly Uint8Array[]): Promise<Float32Array[]> => {
    const result = previous.then(() => runNow(images));
    previous = result.catch(() => undefined);
    return result;
  };

  const [warm] = await run([new Uint8Array(size * size * 3)]).catch((err: unknown) => fail('warm-up run failed', err));
  if (warm?.length !== labels.length)
    fail(`model emits ${warm?.length} classes but ${manifest.labels} has ${labels.length} labels`);

  return {
    manifest,
    labels,
    precision,
    loadMs: performance.now() - started,
    run,
    predictions: (logits, k) => topK(logits, labels, k),
    close: () => session.release(),
  };
}
