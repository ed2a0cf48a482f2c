import { readFile } from 'node:fs/promises';
import protobuf from 'protobufjs';

/** The numeric precision a model computes in: what the service reports next to the model's name. */
export type Precision = 'fp32' | 'int8';
export const precisions = ['fp32', 'int8'] as const satisfies readonly Precision[];

/**
 * The part of ONNX's schema (onnx/onnx.proto, same field numbers) that names operators: a model's
 * graph and functions, their nodes' op_type, and subgraphs held in node attributes (If, Loop,
 * Scan). Every other field (initializers above all: the weights) is skipped by the decoder
 * without being materialised, so detection costs one read of the file and no copy of the weights.
 */
const onnx = protobuf.Root.fromJSON({
  nested: {
    ModelProto: {
      fields: { graph: { type: 'GraphProto', id: 7 }, functions: { rule: 'repeated', type: 'FunctionProto', id: 25 } },
    },
    GraphProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 1 } } },
    FunctionProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 7 } } },
    NodeProto: {
      fields: { opType: { type: 'string', id: 4 }, attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 } },
    },
    AttributeProto: {
      fields: { g: { type: 'GraphProto', id: 6 }, graphs: { rule: 'repeated', type: 'GraphProto', id: 11 } },
    },
  },
});
const ModelProto = onnx.lookupType('ModelProto');

interface Node {
  opType?: string;
  attribute?: { g?: Graph; graphs?: Graph[] }[];
}
interface Graph {
  node?: Node[];
}

/** Every operator type used anywhere in an ONNX model (main graph, subgraphs, local functions). */
export function onnxOperators(model: Uint8Array): Set<string> {
  const decoded = ModelProto.decode(model) as unknown as { graph?: Graph; functions?: Graph[] };
  const ops = new Set<string>();
  const visit = (graph: Graph | undefined) => {
    for (const node of graph?.node ?? []) {
      if (node.opType) ops.add(node.opType);
      for (const attr of node.attribute ?? []) [attr.g, ...(attr.graphs ?? [])].forEach(visit);
    }
  };
  visit(decoded.graph);
  decoded.functions?.forEach(visit);
  return ops;
}

/**
 * Operators that only exist in quantized graphs: QDQ pairs (static quantization, as in
 * ../shared/models/resnet50-v1.5-int8), QOperator nodes (QLinearConv, QLinearMatMul…, as in the
 * ONNX Model Zoo's int8 models), integer kernels (ConvInteger, MatMulInteger: dynamic
 * quantization) and ORT's contrib QGemm/QAttention.
 */
const quantizedOp = /^(QuantizeLinear|DequantizeLinear|DynamicQuantizeLinear|QLinear\w+|\w+Integer|QGemm|QAttention)$/;

export function precisionOfOperators(ops: Iterable<string>): Precision {
  for (const op of ops) if (quantizedOp.test(op)) return 'int8';
  return 'fp32';
}

/**
 * The precision of the ONNX model in `file`, read from its graph's operators. The file is read
 * once and dropped as soon as the operator names are out, so a 100 MB float32 model costs
 * memory only for the length of this call.
 */
export async function detectPrecision(file: string): Promise<Precision> {
  return precisionOfOperators(onnxOperators(await readFile(file)));
}

/** The manifest's `precision` when it sets one, else what the model file's graph says. */
export async function modelPrecision(modelFile: string, override: Precision | undefined): Promise<Precision> {
  return override ?? detectPrecision(modelFile);
}
