import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { precisions } from './precision.js';

/** Model names end up in queue names and URLs: a conservative alphabet. */
const modelNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const modelNameRule = 'letters, digits, ".", "-" and "_" (at most 64, starting with a letter or digit)';

const rgb = z.tuple([z.number(), z.number(), z.number()]);

/**
 * `manifest.json` in the model directory. Every field has the ImageNet/torchvision default, so a
 * directory holding only `model.onnx` and `imagenet_class_index.json` (like ../shared's) needs none.
 */
export const ManifestSchema = z.strictObject({
  /**
   * Reported in every result, chosen with `model` on submit and part of the model's queue name;
   * defaults to the directory name.
   */
  name: z.string().regex(modelNamePattern, modelNameRule).optional(),
  file: z.string().default('model.onnx'),
  /** Tensor layout of the model input: NCHW [N, 3, S, S] (torchvision's) or NHWC [N, S, S, 3] (Keras/TensorFlow's). */
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
  /** Side of the square model input, pixels. */
  inputSize: z.number().int().min(8).max(4096).default(224),
  /** The shorter side is resized to this before the centre crop, pixels. */
  resizeShorterTo: z.number().int().min(8).max(8192).default(256),
  resizeKernel: z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']).default('linear'),
  /** Per-channel RGB mean and std on the 0..1 scale: x = (pixel / 255 - mean) / std. */
  mean: rgb.default([0.485, 0.456, 0.406]),
  std: rgb.default([0.229, 0.224, 0.225]),
  /** Keras class index JSON: {"0": ["n01440764", "tench"], ...}, index = output position. */
  labels: z.string().default('imagenet_class_index.json'),
  topk: z.number().int().min(1).max(20).default(5),
  /**
   * `fp32` or `int8`, as reported in results, /readyz and metrics. Unset: read from the ONNX
   * graph's operators (quantize/dequantize or QLinear* nodes mean int8); set it only to override.
   */
  precision: z.enum(precisions).optional(),
});

export type Manifest = z.infer<typeof ManifestSchema> & { name: string };

export const manifestFile = 'manifest.json';

export async function loadManifest(modelDir: string): Promise<Manifest> {
  const file = path.join(modelDir, manifestFile);
  let raw: unknown = {};
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid ${file}: ${z.prettifyError(parsed.error)}`);
  const name = parsed.data.name ?? path.basename(modelDir);
  if (!modelNamePattern.test(name))
    throw new Error(`model directory name "${name}" cannot name a model (${modelNameRule}): set "name" in ${file}`);
  return { ...parsed.data, name };
}
