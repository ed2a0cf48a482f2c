import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadLabels } from '../../src/model/labels.js';
import { loadManifest } from '../../src/model/manifest.js';
import { tinyClassifierOnnx, writeTinyModelDir } from '../support/tiny-onnx-model.js';

describe('the generated tiny ONNX classifier', () => {
  it.each(['NCHW', 'NHWC'] as const)(
    'runs in ONNX Runtime with a %s input, any batch size, one logit per class',
    async (layout) => {
      const session = await ort.InferenceSession.create(tinyClassifierOnnx({ inputSize: 32, layout, classes: 7 }));
      const shape = layout === 'NCHW' ? [3, 3, 32, 32] : [3, 32, 32, 3];
      const out = await session.run({
        input: new ort.Tensor('float32', new Float32Array(3 * 3 * 32 * 32).fill(0.5), shape),
      });
      expect(out['logits']!.dims).toEqual([3, 7]);
    },
  );

  it('writes a model directory the service loads: manifest with its input size, labels in order', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tiny-model-'));
    try {
      await writeTinyModelDir(dir, { inputSize: 64, classes: 3, labels: ['cat', 'dog', 'bird'], name: 'pets' });
      expect(await loadManifest(dir)).toMatchObject({ name: 'pets', inputSize: 64, labels: 'labels.json' });
      expect(await loadLabels(path.join(dir, 'labels.json'))).toEqual(['cat', 'dog', 'bird']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
