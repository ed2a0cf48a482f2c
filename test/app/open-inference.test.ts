import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadManifest, type Manifest } from '../../src/model/manifest.js';
import { decodeCrop, prepareImage } from '../../src/model/preprocess.js';
import { toInputTensor } from '../../src/model/tensor.js';
import { get, image, submitAndWait } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { defaultModelName, expectedTop1, imagesDir, int8ModelDir } from '../support/paths.js';

/**
 * The Open Inference Protocol v2 REST front door (KServe, Triton), with requests built from the
 * spec's own examples, Triton's binary tensor and classification extensions by hand, and the
 * answers checked against /jobs on the same photos. No npm client for the v2 protocol exists.
 */
let api: InProcessApi;
let manifest: Manifest;
const infer = `/v2/models/${defaultModelName}/infer`;

beforeAll(async () => {
  api = await startInProcessApi(testConfig(inject('redisUrl')));
  await api.startWorker();
  manifest = await loadManifest(int8ModelDir);
});
afterAll(async () => {
  await api?.close();
});

interface Output {
  name: string;
  shape: number[];
  datatype: string;
  data?: (number | string)[];
  parameters?: { binary_data_size: number };
}
interface InferReply {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Output[];
}

async function post(route: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: new Uint8Array(typeof body === 'string' ? Buffer.from(body) : body),
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
const json = <T>(bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as T;

/** The normalised FP32 tensor /jobs would feed the model for this photo (the model's input contract). */
async function tensorOf(photo: Buffer): Promise<Float32Array> {
  const prepared = await prepareImage(photo, manifest, { maxImagePixels: 50_000_000 });
  return toInputTensor([await decodeCrop(prepared.crop, manifest.inputSize)], manifest);
}

/** A binary-extension body: the JSON header, then each input's bytes. */
function binaryBody(request: object, ...data: Buffer[]) {
  const header = Buffer.from(JSON.stringify(request));
  return {
    body: Buffer.concat([header, ...data]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** BYTES elements: each a 4-byte little-endian length, then the file. */
function bytesElements(files: Buffer[]): Buffer {
  return Buffer.concat(
    files.flatMap((f) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(f.length);
      return [length, f];
    }),
  );
}

const argmax = (values: readonly number[]) => values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);

describe('health and metadata (the spec examples)', () => {
  it('answers live, ready, server metadata, model metadata and model ready', async () => {
    expect((await get(api.url, '/v2/health/live')).body).toEqual({ live: true });
    expect(await get(api.url, '/v2/health/ready')).toMatchObject({ status: 200, body: { ready: true } });
    expect((await get(api.url, '/v2')).body).toMatchObject({
      extensions: ['binary_tensor_data', 'classification'],
    });
    const metadata = {
      name: defaultModelName,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 1000] }],
    };
    expect((await get(api.url, `/v2/models/${defaultModelName}`)).body).toEqual(metadata);
    expect((await get(api.url, `/v2/models/${defaultModelName}/versions/1`)).body).toEqual(metadata);
    expect((await get(api.url, `/v2/models/${defaultModelName}/ready`)).body).toEqual({
      name: defaultModelName,
      ready: true,
    });
  });

  it('answers errors as {"error": "…"} with their status', async () => {
    expect(await get(api.url, '/v2/models/mymodel')).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining('"mymodel" is not served here') as string },
    });
    expect(await get(api.url, `/v2/models/${defaultModelName}/versions/v10`)).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining('no version v10') as string },
    });
    // The spec's own inference request example: two inputs this model does not have.
    const example = {
      id: '42',
      inputs: [
        { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
        { name: 'input1', shape: [3], datatype: 'BOOL', data: [true] },
      ],
      outputs: [{ name: 'output0' }],
    };
    const res = await post(infer, JSON.stringify(example));
    expect(res.status).toBe(400);
    expect(json(res.bytes)).toEqual({ error: 'no output output0: it is "output"' });
    const inputsOnly = await post(infer, JSON.stringify({ ...example, outputs: undefined }));
    expect(inputsOnly.status).toBe(400);
    expect(json(inputsOnly.bytes)).toEqual({ error: 'the model has one input; the request has 2' });
  });
});

describe('infer', () => {
  it('takes an FP32 tensor in JSON and returns the logits FP32 [1, 1000], agreeing with /jobs', async () => {
    const photo = await image('coffee.png');
    const res = await post(
      infer,
      JSON.stringify({
        id: '42',
        inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', data: Array.from(await tensorOf(photo)) }],
      }),
    );
    expect(res.status).toBe(200);
    const reply = json<InferReply>(res.bytes);
    expect(reply).toMatchObject({ model_name: defaultModelName, model_version: '1', id: '42' });
    expect(reply.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [1, 1000] });
    const job = await submitAndWait(api.url, photo);
    expect(argmax(reply.outputs[0]!.data as number[])).toBe(job.result!.predictions[0]!.classId);
  });

  it('takes a hand-built binary FP32 request of two images; answers classification in binary', async () => {
    const photos = [await image('eagle.jpg'), await image('orange.jpg')];
    const tensors = await Promise.all(photos.map(tensorOf));
    const data = Buffer.concat(tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength)));
    const { body, headers } = binaryBody(
      {
        inputs: [
          { name: 'input', shape: [2, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: data.length } },
        ],
        outputs: [{ name: 'output', parameters: { classification: 3, binary_data: true } }],
      },
      data,
    );
    const res = await post(infer, body, headers);
    expect(res.status).toBe(200);
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const reply = json<InferReply>(res.bytes.subarray(0, headerLength));
    const output = reply.outputs[0]!;
    expect(output).toMatchObject({ name: 'output', datatype: 'BYTES', shape: [2, 3] });
    const strings: string[] = [];
    for (let at = headerLength; at < res.bytes.length;) {
      const length = res.bytes.readUInt32LE(at);
      strings.push(res.bytes.subarray(at + 4, at + 4 + length).toString('utf8'));
      at += 4 + length;
    }
    expect(output.parameters!.binary_data_size).toBe(res.bytes.length - headerLength);
    expect(strings).toHaveLength(6);
    expect(strings[0]).toMatch(/^-?\d+\.\d{6}:22:bald_eagle$/);
    expect(strings[3]).toMatch(/^-?\d+\.\d{6}:950:orange$/);
  });

  it('takes every shared photo as BYTES [N] and agrees with /jobs on each', async () => {
    const names = (await readdir(imagesDir)).filter((n) => n in expectedTop1).sort();
    const photos = await Promise.all(names.map((n) => image(n)));
    const data = bytesElements(photos);
    const { body, headers } = binaryBody(
      {
        inputs: [
          { name: 'input', shape: [photos.length], datatype: 'BYTES', parameters: { binary_data_size: data.length } },
        ],
        outputs: [{ name: 'output', parameters: { classification: 1 } }],
      },
      data,
    );
    const res = await post(infer, body, headers);
    expect(res.status).toBe(200);
    const classes = json<InferReply>(res.bytes).outputs[0]!.data as string[];
    for (const [i, photo] of photos.entries()) {
      const job = await submitAndWait(api.url, photo);
      const top = job.result!.predictions[0]!;
      expect(classes[i], names[i]).toMatch(new RegExp(`:${top.classId}:${top.label}$`));
      expect(expectedTop1[names[i]!]).toContain(top.label);
    }
  });
});

describe('bad tensors are a clear 400', () => {
  const tensorRequest = (shape: number[], datatype: string, data: unknown[]) =>
    JSON.stringify({ inputs: [{ name: 'input', shape, datatype, data }] });

  it.each([
    ['a wrong shape', tensorRequest([1, 3, 224, 225], 'FP32', []), /shape \[1,3,224,225\] is not \[1,3,224,224\]/],
    ['a wrong datatype', tensorRequest([1, 3, 224, 224], 'INT64', []), /datatype INT64 is not accepted/],
    ['too few values', tensorRequest([1, 3, 224, 224], 'FP32', [0, 1]), /2 values in data, shape needs 150528/],
    [
      'a value no pixel normalises to',
      tensorRequest([1, 3, 224, 224], 'FP32', new Array<number>(150_528).fill(40)),
      /element 0 \(40\) is not a pixel value/,
    ],
    ['BYTES in JSON', tensorRequest([1], 'BYTES', ['abc']), /through the binary tensor extension/],
  ])('%s', async (_what, request, message) => {
    const res = await post(infer, request);
    expect(res.status).toBe(400);
    expect(json<{ error: string }>(res.bytes).error).toMatch(message);
  });

  it('a binary_data_size that does not match the bytes sent', async () => {
    const data = Buffer.alloc(1000);
    const request = {
      inputs: [{ name: 'input', shape: [1, 3, 224, 224], datatype: 'FP32', parameters: { binary_data_size: 1000 } }],
    };
    const short = binaryBody(request, data);
    const res = await post(infer, short.body, short.headers);
    expect(res.status).toBe(400);
    expect(json<{ error: string }>(res.bytes).error).toMatch(
      /1000 bytes of binary data, FP32 \[1,3,224,224\] is 602112/,
    );
    const extra = binaryBody(request, data, Buffer.alloc(7));
    const res2 = await post(infer, extra.body, extra.headers);
    expect(json<{ error: string }>(res2.bytes).error).toMatch(/7 bytes after its JSON/);
  });
});
