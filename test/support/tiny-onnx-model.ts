import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import protobuf from 'protobufjs';

/**
 * A tiny, real ONNX image classifier, generated: ONNX Runtime loads and runs it like any other,
 * and it costs next to nothing per image. For measuring everything around inference (the queue
 * capacity benchmark) and for tests that need a model with another input size, layout or label set.
 *
 * The graph: ReduceMean over the spatial axes (the mean colour, [N, 3]) -> Gemm with fixed weights
 * -> logits [N, classes]. The batch dimension is symbolic, so any batch size runs.
 */
export interface TinyModelOptions {
  /** Side of the square input, pixels. Default 224. */
  inputSize?: number;
  /** Tensor layout of the input: NCHW [N, 3, S, S] (the service's) or NHWC [N, S, S, 3]. Default NCHW. */
  layout?: 'NCHW' | 'NHWC';
  /** Number of classes (logits). Default 10. */
  classes?: number;
  /** One label per class; default `class_0`, `class_1`… */
  labels?: readonly string[];
  /** manifest.json `name`. Default `tiny-<classes>`. */
  name?: string;
  /** Input and output tensor names. Default `input` and `logits`. */
  inputName?: string;
  outputName?: string;
}

/**
 * The subset of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto, IR version 8) that the graph
 * uses, with ONNX's own field numbers, so the bytes are a standard ModelProto.
 */
const onnxSchema = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1; int64 i = 3; repeated int64 ints = 8; int32 type = 20;
}
message TensorProto {
  repeated int64 dims = 1; int32 data_type = 2; repeated float float_data = 4 [packed = true]; string name = 8;
}
message TensorShapeProto {
  message Dimension { int64 dim_value = 1; string dim_param = 2; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  Tensor tensor_type = 1;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4;
  repeated AttributeProto attribute = 5;
}
message GraphProto {
  repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message ModelProto {
  int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8;
}
`;

const FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

/** Fixed, distinct weights per class ([3, classes], row-major), so different colours rank the classes differently. */
function tinyWeights(classes: number): { weights: number[]; bias: number[] } {
  return {
    weights: Array.from({ length: 3 * classes }, (_, i) => Math.sin(1 + i * 0.7)),
    bias: Array.from({ length: classes }, (_, c) => c * -0.01),
  };
}

/**
 * What the tiny classifier computes for an input whose normalised mean colour is `colour`
 * (x = (pixel / 255 - mean) / std per channel): its logits, computed here without ONNX Runtime.
 */
export function tinyLogits(colour: readonly [number, number, number], classes: number): number[] {
  const { weights, bias } = tinyWeights(classes);
  return bias.map((b, k) => colour.reduce((sum, x, c) => sum + x * weights[c * classes + k]!, b));
}

/** The ONNX bytes of the tiny classifier. */
export function tinyClassifierOnnx(options: TinyModelOptions = {}): Uint8Array {
  const size = options.inputSize ?? 224;
  const layout = options.layout ?? 'NCHW';
  const classes = options.classes ?? 10;
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'logits';
  const Model = protobuf.parse(onnxSchema, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const dims = (shape: (number | string)[]) => ({
    dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })),
  });
  const tensorType = (shape: (number | string)[]) => ({ tensor_type: { elem_type: FLOAT, shape: dims(shape) } });
  const { weights, bias } = tinyWeights(classes);
  const model = {
    ir_version: 8,
    producer_name: 'resnet-queue tiny-onnx-model',
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny_classifier',
      input: [{ name: inputName, type: tensorType(layout === 'NCHW' ? ['N', 3, size, size] : ['N', size, size, 3]) }],
      output: [{ name: outputName, type: tensorType(['N', classes]) }],
      initializer: [
        { name: 'W', dims: [3, classes], data_type: FLOAT, float_data: weights },
        { name: 'B', dims: [classes], data_type: FLOAT, float_data: bias },
      ],
      node: [
        {
          op_type: 'ReduceMean',
          name: 'mean_colour',
          input: [inputName],
          output: ['colour'],
          attribute: [
            { name: 'axes', type: ATTRIBUTE_INTS, ints: layout === 'NCHW' ? [2, 3] : [1, 2] },
            { name: 'keepdims', type: ATTRIBUTE_INT, i: 0 },
          ],
        },
        { op_type: 'Gemm', name: 'classify', input: ['colour', 'W', 'B'], output: [outputName] },
      ],
    },
  };
  const problem = Model.verify(model);
  if (problem) throw new Error(`tiny ONNX model: ${problem}`);
  return Model.encode(Model.fromObject(model)).finish();
}

/**
 * Writes a model directory the worker can load: model.onnx, a Keras-style class index and a
 * manifest.json naming them (input size and layout from the options).
 */
export async function writeTinyModelDir(dir: string, options: TinyModelOptions = {}): Promise<string> {
  const classes = options.classes ?? 10;
  const labels = options.labels ?? Array.from({ length: classes }, (_, c) => `class_${c}`);
  if (labels.length !== classes) throw new Error(`tiny ONNX model: ${labels.length} labels for ${classes} classes`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.onnx'), tinyClassifierOnnx({ ...options, classes }));
  await writeFile(
    path.join(dir, 'labels.json'),
    JSON.stringify(Object.fromEntries(labels.map((label, c) => [String(c), [`tiny${c}`, label]]))),
  );
  const inputSize = options.inputSize ?? 224;
  const manifest = {
    name: options.name ?? `tiny-${classes}`,
    layout: options.layout ?? 'NCHW',
    inputSize,
    resizeShorterTo: inputSize,
    labels: 'labels.json',
    topk: Math.min(5, classes),
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}
