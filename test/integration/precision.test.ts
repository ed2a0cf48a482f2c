import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../src/model/manifest.js';
import { detectPrecision, modelPrecision, precisionOfOperators } from '../../src/model/precision.js';
import { int8ModelDir, modelDir } from '../support/paths.js';

describe('model precision', () => {
  it("reads fp32 and int8 from the shared models' graphs", async () => {
    expect(await detectPrecision(path.join(modelDir, 'model.onnx'))).toBe('fp32');
    expect(await detectPrecision(path.join(int8ModelDir, 'model.onnx'))).toBe('int8');
  });

  it('counts QDQ, QOperator and integer kernels as int8, and nothing else', () => {
    expect(precisionOfOperators(['Conv', 'QLinearConv', 'QLinearAdd'])).toBe('int8');
    expect(precisionOfOperators(['DynamicQuantizeLinear', 'MatMulInteger'])).toBe('int8');
    expect(precisionOfOperators(['ConvInteger'])).toBe('int8');
    expect(precisionOfOperators(['Conv', 'Relu', 'Gemm', 'Softmax', 'Cast'])).toBe('fp32');
  });

  it('lets the manifest override what the graph says', async () => {
    expect(await modelPrecision(path.join(int8ModelDir, 'model.onnx'), 'fp32')).toBe('fp32');
    expect(await modelPrecision('/no/such/model.onnx', 'int8')).toBe('int8');
  });

  describe('manifest field', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'manifest-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('accepts fp32 and int8 and refuses anything else', async () => {
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ precision: 'int8' }));
      expect((await loadManifest(dir)).precision).toBe('int8');
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ precision: 'fp16' }));
      await expect(loadManifest(dir)).rejects.toThrow(/precision/);
    });
  });
});
