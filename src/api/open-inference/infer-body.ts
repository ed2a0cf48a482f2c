import { AppError } from '../../errors.js';
import type { Manifest } from '../../model/manifest.js';
import { InferenceRequestSchema, type InferenceRequest } from './wire.js';

const bad = (message: string) => new AppError('invalid_request', message);

/** A request and the binary data each of its inputs carries after the JSON (binary tensor extension). */
export interface InferBody {
  request: InferenceRequest;
  /** By input position; undefined for an input whose data is in the JSON. */
  binary: (Buffer | undefined)[];
}

/**
 * Splits a body into its JSON and, with `Inference-Header-Content-Length` (Triton's binary tensor
 * extension), the binary data that follows it: each input with `parameters.binary_data_size`
 * takes that many bytes, in input order, and together they must use up the rest exactly.
 */
export function parseInferBody(body: Buffer, headerLength: string): InferBody {
  const jsonBytes = headerLength === '' ? body.length : Number(headerLength);
  if (!Number.isInteger(jsonBytes) || jsonBytes < 0 || jsonBytes > body.length)
    throw bad(`Inference-Header-Content-Length ${headerLength} is not within the body's ${body.length} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(body.subarray(0, jsonBytes).toString('utf8'));
  } catch {
    throw bad('the inference request JSON does not parse');
  }
  const parsed = InferenceRequestSchema.safeParse(json);
  if (!parsed.success)
    throw bad(parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; '));
  const request = parsed.data;
  let offset = jsonBytes;
  const binary = request.inputs.map((input) => {
    const size = input.parameters?.['binary_data_size'];
    if (size === undefined) return undefined;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || offset + size > body.length)
      throw bad(`input ${input.name}: binary_data_size ${JSON.stringify(size)} runs past the end of the body`);
    offset += size;
    return body.subarray(offset - size, offset);
  });
  if (offset !== body.length)
    throw bad(`the body has ${body.length - offset} bytes after its JSON and the inputs' binary_data_size`);
  return { request, binary };
}

/** What one input carries: 8-bit pixels per image (from an FP32 tensor), or encoded image files. */
export type InferImages = { kind: 'pixels'; images: Uint8Array[] } | { kind: 'encoded'; images: Buffer[] };

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The images of the request's one input, checked against the model's input contract:
 *  - FP32 `[N,3,S,S]` (NCHW) or `[N,S,S,3]` (NHWC) as the manifest says, normalised with its mean and
 *    std. Jobs store 8-bit pixels, so each value is mapped back to its pixel and rounded; a value
 *    more than half a step outside 0..255 cannot be one and is refused, naming it.
 *  - BYTES `[N]`: encoded image files through the binary extension, each a 4-byte little-endian
 *    length then the bytes (the OVMS convention).
 */
export function inputImages(body: InferBody, manifest: Manifest, maxImages: number): InferImages {
  const { request, binary } = body;
  if (request.inputs.length !== 1) throw bad(`the model has one input; the request has ${request.inputs.length}`);
  const input = request.inputs[0]!;
  const data = binary[0];
  const n = input.shape[0] ?? 0;
  if (n < 1 || n > maxImages) throw bad(`input ${input.name}: the batch dimension must be 1..${maxImages}, got ${n}`);
  if (input.datatype === 'BYTES') return { kind: 'encoded', images: encodedImages(input.shape, data, input.data) };
  if (input.datatype !== 'FP32')
    throw bad(`input ${input.name}: datatype ${input.datatype} is not accepted; send FP32 or BYTES (encoded images)`);
  const size = manifest.inputSize;
  const expected = manifest.layout === 'NHWC' ? [n, size, size, 3] : [n, 3, size, size];
  if (input.shape.join(',') !== expected.join(','))
    throw bad(
      `input ${input.name}: shape [${input.shape.join(',')}] is not [${expected.join(',')}] (${manifest.layout})`,
    );
  const count = product(expected);
  let values: ArrayLike<number>;
  if (data) {
    if (data.length !== count * 4)
      throw bad(
        `input ${input.name}: ${data.length} bytes of binary data, FP32 [${expected.join(',')}] is ${count * 4}`,
      );
    values = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  } else {
    const flat: unknown[] = (input.data ?? []).flat(Infinity);
    if (flat.length !== count) throw bad(`input ${input.name}: ${flat.length} values in data, shape needs ${count}`);
    const notNumber = flat.findIndex((v) => typeof v !== 'number');
    if (notNumber >= 0) throw bad(`input ${input.name}: data[${notNumber}] is not a number`);
    values = flat as number[];
  }
  return { kind: 'pixels', images: toPixels(values, n, manifest) };
}

function encodedImages(shape: readonly number[], data: Buffer | undefined, json: unknown[] | undefined): Buffer[] {
  const n = shape[0]!;
  if (product(shape) !== n) throw bad(`BYTES input: shape [${shape.join(',')}] must be [N], one image per element`);
  if (!data || json !== undefined)
    throw bad('BYTES input: send the encoded images through the binary tensor extension (binary_data_size)');
  const images: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 4 > data.length) throw bad(`BYTES input: element ${images.length} has a truncated length`);
    const length = data.readUInt32LE(offset);
    if (offset + 4 + length > data.length) throw bad(`BYTES input: element ${images.length} runs past its data`);
    images.push(data.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (images.length !== n) throw bad(`BYTES input: ${images.length} elements in the data, shape says ${n}`);
  return images;
}

/** Each image's HWC 8-bit pixels from the normalised tensor (pixel = (x * std + mean) * 255). */
function toPixels(values: ArrayLike<number>, n: number, manifest: Manifest): Uint8Array[] {
  const plane = manifest.inputSize * manifest.inputSize;
  const nhwc = manifest.layout === 'NHWC';
  return Array.from({ length: n }, (_, b) => {
    const pixels = new Uint8Array(plane * 3);
    for (let c = 0; c < 3; c++) {
      const [std, mean] = [manifest.std[c]!, manifest.mean[c]!];
      for (let i = 0; i < plane; i++) {
        const at = nhwc ? b * plane * 3 + i * 3 + c : (b * 3 + c) * plane + i;
        const pixel = (values[at]! * std + mean) * 255;
        if (!(pixel > -0.5 && pixel < 255.5))
          throw bad(
            `FP32 input: element ${at} (${values[at]}) is not a pixel value normalised as the model expects ` +
              `((pixel / 255 - ${mean}) / ${std} for pixel 0..255)`,
          );
        pixels[i * 3 + c] = Math.round(pixel);
      }
    }
    return pixels;
  });
}
