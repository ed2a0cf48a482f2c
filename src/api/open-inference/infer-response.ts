import type { InferenceResponse } from './wire.js';

/** One output's data as the binary tensor extension carries it: FP32 little-endian, BYTES length-prefixed. */
function toBinary(data: readonly number[] | readonly string[], datatype: 'FP32' | 'BYTES'): Buffer {
  if (datatype === 'FP32') {
    const out = Buffer.allocUnsafe(data.length * 4);
    data.forEach((v, i) => out.writeFloatLE(v as number, i * 4));
    return out;
  }
  return Buffer.concat(
    data.flatMap((v) => {
      const bytes = Buffer.from(String(v), 'utf8');
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}

/**
 * The response body: JSON alone, or (when an output asked for `binary_data`) the JSON with those
 * outputs' `data` replaced by `parameters.binary_data_size`, then their bytes in output order;
 * `headerLength` is then the JSON's length (Inference-Header-Content-Length).
 */
export function encodeInferResponse(
  response: InferenceResponse,
  binary: readonly boolean[],
): { body: Buffer | InferenceResponse; headerLength?: number } {
  if (!binary.some(Boolean)) return { body: response };
  const parts: Buffer[] = [];
  const outputs = response.outputs.map((output, i) => {
    if (!binary[i] || !output.data) return output;
    const bytes = toBinary(output.data, output.datatype);
    parts.push(bytes);
    return {
      name: output.name,
      shape: output.shape,
      datatype: output.datatype,
      parameters: { binary_data_size: bytes.length },
    };
  });
  const json = Buffer.from(JSON.stringify({ ...response, outputs }), 'utf8');
  return { body: Buffer.concat([json, ...parts]), headerLength: json.length };
}
