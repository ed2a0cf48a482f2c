import type { Manifest } from './manifest.js';

/**
 * Packs HWC RGB uint8 crops into one float32 batch in the manifest's layout (NCHW: one plane per
 * channel; NHWC: the pixels' own order), normalised as the manifest says, in one pass: the only
 * copy between the stored pixels and the ONNX input. Writes into `into` when given (a
 * preallocated batch buffer, at least images x 3 x inputSize² long) and returns the part of it
 * the batch fills.
 */
export function toInputTensor(
  images: readonly Uint8Array[],
  manifest: Pick<Manifest, 'inputSize' | 'mean' | 'std'> & Partial<Pick<Manifest, 'layout'>>,
  into?: Float32Array,
): Float32Array {
  const plane = manifest.inputSize * manifest.inputSize;
  const length = images.length * 3 * plane;
  if (into && into.length < length)
    throw new RangeError(`batch buffer holds ${into.length} values, the batch needs ${length}`);
  const out = into ? into.subarray(0, length) : new Float32Array(length);
  const scale = manifest.std.map((s) => 1 / (255 * s));
  const offset = manifest.mean.map((m, c) => -m / manifest.std[c]!);
  const nhwc = manifest.layout === 'NHWC';
  images.forEach((px, b) => {
    if (px.length !== plane * 3) throw new Error(`image ${b} has ${px.length} bytes, expected ${plane * 3}`);
    const base = b * 3 * plane;
    for (let c = 0; c < 3; c++) {
      const s = scale[c]!;
      const o = offset[c]!;
      if (nhwc) {
        for (let i = c; i < plane * 3; i += 3) out[base + i] = px[i]! * s + o;
      } else {
        const dst = base + c * plane;
        for (let i = 0; i < plane; i++) out[dst + i] = px[i * 3 + c]! * s + o;
      }
    }
  });
  return out;
}

/** The ONNX input shape of a batch of `count` images in the manifest's layout. */
export function inputDims(count: number, manifest: Pick<Manifest, 'inputSize' | 'layout'>): number[] {
  const size = manifest.inputSize;
  return manifest.layout === 'NHWC' ? [count, size, size, 3] : [count, 3, size, size];
}
