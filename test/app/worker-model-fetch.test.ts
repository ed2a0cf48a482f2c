import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startWorker } from '../../src/worker/worker.js';
import { image, submitAndWait } from '../support/http.js';
import { startInProcessApi, testConfig } from '../support/in-process.js';
import { startModelServer, type ModelServer } from '../support/model-server.js';
import { modelDir as sharedModelDir } from '../support/paths.js';

const modelSha256 = 'e3032851b38d32d9e31da41179e588c315fe3a6c50817b61e9456f006bd33cbb';

let server: ModelServer;
let dir: string;
beforeAll(async () => {
  server = await startModelServer(path.join(sharedModelDir, 'model.onnx'));
  dir = await mkdtemp(path.join(os.tmpdir(), 'worker-model-fetch-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('worker start with MODEL_URL and an empty MODEL_DIR', () => {
  it('fetches the model, loads it and starts consuming', async () => {
    const target = path.join(dir, 'worker');
    const config = testConfig(inject('redisUrl'), {
      MODEL_DIR: target,
      MODEL_URL: server.url,
      MODEL_SHA256: modelSha256,
    });
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const worker = await startWorker(config, pino({ level: 'info' }, sink));
    try {
      expect(output).toMatch(/installed .*model\.onnx \(102133623 bytes, sha256 verified\)/);
      expect(output).toMatch(/"model":"resnet50","precision":"fp32".*model loaded/);
      await access(path.join(target, 'model.onnx'));
      expect(server.requests.filter((r) => r.status === 200)).toHaveLength(1);
      const app = await startInProcessApi(config);
      try {
        const done = await submitAndWait(app.url, await image('orange.jpg'));
        expect(done.result!.predictions[0]!.label).toBe('orange');
      } finally {
        await app.close();
      }
    } finally {
      await worker.close();
    }
  });
});
