import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { get, type ErrorBody } from '../support/http.js';
import { modelDir } from '../support/paths.js';
import { report, startCluster, type Cluster } from './harness.js';
import { spawnEntry } from '../support/service.js';

describe('the model missing or corrupt at worker start', () => {
  let cluster: Cluster;
  let dir: string;
  beforeAll(async () => {
    cluster = await startCluster(inject('redisUrl'));
    dir = await mkdtemp(path.join(os.tmpdir(), 'broken-model-'));
  });
  afterAll(async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function workerExit(modelDirectory: string): Promise<{ code: number | null; output: string }> {
    const worker = spawnEntry('worker/main', {
      REDIS_URL: cluster.redisUrl,
      QUEUE_NAME: cluster.queueName,
      MODEL_DIR: modelDirectory,
    });
    const code = await new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    return { code, output: worker.output() };
  }

  it('exits non-zero naming the problem, and /readyz stays not ready', async () => {
    const missing = await workerExit(dir);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/model\.onnx not found/);
    // One sentence, naming the path and how to get a model.
    expect(missing.output).toContain(`worker: cannot load the model: model in ${dir}: model.onnx not found`);
    expect(missing.output).toMatch(/npm run model:fetch/);

    await copyFile(path.join(modelDir, 'imagenet_class_index.json'), path.join(dir, 'imagenet_class_index.json'));
    await writeFile(path.join(dir, 'model.onnx'), Buffer.alloc(4096, 7));
    const corrupt = await workerExit(dir);
    expect(corrupt.code).toBe(1);
    expect(corrupt.output).toMatch(/not a loadable ONNX model/);

    const ready = await get<ErrorBody>(cluster.url, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.message).toMatch(/no worker/);
    expect(ready.body.error.code).toBe('no_worker');
    await report({
      fault: 'model file missing, then corrupt, at worker start',
      happened:
        'worker exited 1 with "model.onnx not found" / "not a loadable ONNX model"; /readyz answered 503 throughout',
      submitted: 0,
      completed: 0,
      failed: 0,
      duplicated: 0,
      recoverySeconds: null,
    });
  });
});
