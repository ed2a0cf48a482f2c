import path from 'node:path';
import type { Config } from '../config.js';

/** Where a model comes from, and what it must hash to. */
export interface ModelSource {
  /** Written as the manifest's `name`, reported in every result. */
  name: string;
  url: string;
  /** Lower-case hex sha256 of the file; the download is checked against it before use. */
  sha256: string;
  /** Size of the file in bytes, when pinned (lets a bad partial or a wrong file be refused early). */
  bytes?: number;
}

/**
 * The ONNX Model Zoo's ResNet50 v1 (fp32, opset 12): input `data` [N,3,224,224], 1000 logits in
 * standard ImageNet order, the same preprocessing as the manifest defaults. Facts from
 * ../shared/models/README.md.
 */
export const zooResNet50: ModelSource = {
  name: 'resnet50-v1-12',
  url: 'https://github.com/onnx/models/raw/main/vision/classification/resnet/model/resnet50-v1-12.onnx',
  sha256: 'ab65bdc02c5b3123eb3cdf6dac01742438517d8635d4f233913b2be1c70db3b6',
  bytes: 102_576_419,
};

/**
 * The same zoo network statically quantized to int8 (QOperator format: QLinearConv…), 74.77 %
 * top-1; the zoo reports 1.82x faster on CPU. Served with `precision` int8, read from its graph.
 */
export const zooResNet50Int8: ModelSource = {
  name: 'resnet50-v1-12-int8',
  url: 'https://github.com/onnx/models/raw/main/validated/vision/classification/resnet/model/resnet50-v1-12-int8.onnx',
  sha256: 'c234f30975989788b4405f25253275aae247ab6dbdd34aaa69ab0a59ff76f6d0',
  bytes: 25_816_052,
};

/** The zoo's builds by precision, as `npm run model:fetch -- --precision int8` names them. */
export const zooResNet50ByPrecision = { fp32: zooResNet50, int8: zooResNet50Int8 } as const;

/** The source set by MODEL_URL and MODEL_SHA256, named after the URL's file; undefined when unset. */
export function configuredModelSource(models: Config['models']): ModelSource | undefined {
  if (!models.url || !models.sha256) return undefined;
  const name = path.posix.basename(new URL(models.url).pathname).replace(/\.onnx$/i, '');
  return { name: name || 'model', url: models.url, sha256: models.sha256 };
}
