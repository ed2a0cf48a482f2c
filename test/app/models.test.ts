import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runClassify } from '../../src/cli/classify.js';
import { connectApiDeps } from '../../src/api/server.js';
import { ModelsSchema, type BatchEntryView } from '../../src/api/wire.js';
import { createLogger } from '../../src/logger.js';
import { StartupError } from '../../src/startup-error.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { get, image, postImage, submitAndWait, type ErrorBody } from '../support/http.js';
import { startInProcessApi, testConfig, type InProcessApi } from '../support/in-process.js';
import { expectedTop1, int8ModelDir, modelDir } from '../support/paths.js';
import { tinyLogits, writeTinyModelDir } from '../support/tiny-onnx-model.js';

const redisUrl = inject('redisUrl');

/** A classifier that has nothing of ResNet-50: 32 px input, NHWC, five labels of its own. */
const tiny = {
  name: 'tiny-nhwc',
  inputSize: 32,
  layout: 'NHWC',
  labels: ['crimson', 'azure', 'jade', 'ochre', 'slate'],
} as const;

/** A solid colour: every crop of it has exactly this mean colour, whatever the input size. */
const solid = (r: number, g: number, b: number) =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

/** The tiny model's labels, best first, for a solid colour (ImageNet mean and std: its manifest sets none). */
function expectedTinyRanking(rgb: readonly [number, number, number]): string[] {
  const [mean, std] = [
    [0.485, 0.456, 0.406],
    [0.229, 0.224, 0.225],
  ];
  const colour = rgb.map((v, c) => (v / 255 - mean[c]!) / std[c]!) as [number, number, number];
  const logits = tinyLogits(colour, tiny.labels.length);
  return tiny.labels
    .map((label, k) => ({ label, logit: logits[k]! }))
    .sort((a, b) => b.logit - a.logit)
    .map((e) => e.label);
}

let tinyDir: string;
beforeAll(async () => {
  tinyDir = await writeTinyModelDir(path.join(await mkdtemp(path.join(os.tmpdir(), 'models-test-')), 'tiny'), {
    ...tiny,
    classes: tiny.labels.length,
  });
});
afterAll(async () => {
  await rm(path.dirname(tinyDir), { recursive: true, force: true });
});

describe('several models served by one API and one worker process', () => {
  let api: InProcessApi;
  let worker: RunningWorker;
  beforeAll(async () => {
    // Both shared ResNet-50 builds and the tiny model; one worker process loads all three.
    const config = testConfig(redisUrl, {
      MODEL_DIRS: `${modelDir},${int8ModelDir},${tinyDir}`,
      DEFAULT_MODEL: 'resnet50-v1.5-int8',
    });
    worker = await startWorker(config, createLogger('silent', 'test-worker'));
    api = await startInProcessApi(config);
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
  });

  it('lists each model with its precision, input, classes and live workers', async () => {
    const res = await get(api.url, '/models');
    expect(res.status).toBe(200);
    const body = ModelsSchema.parse(res.body);
    expect(body.default).toBe('resnet50-v1.5-int8');
    expect(body.models).toEqual([
      {
        name: 'resnet50-v1.5',
        precision: 'fp32',
        input: { size: 224, layout: 'NCHW' },
        classes: 1000,
        ready: true,
        workers: 1,
        paused: false,
      },
      {
        name: 'resnet50-v1.5-int8',
        precision: 'int8',
        input: { size: 224, layout: 'NCHW' },
        classes: 1000,
        ready: true,
        workers: 1,
        paused: false,
      },
      {
        name: tiny.name,
        precision: 'fp32',
        input: { size: 32, layout: 'NHWC' },
        classes: 5,
        ready: true,
        workers: 1,
        paused: false,
      },
    ]);
  });

  it('classifies with the generated NHWC model, named by query or multipart field; finds its job by ID', async () => {
    const red = await solid(255, 0, 0);
    const byQuery = await submitAndWait(api.url, red, `?model=${tiny.name}&topk=5`);
    expect(byQuery.status).toBe('completed');
    expect(byQuery.result!.model).toBe(tiny.name);
    // The whole ranking: pixels packed channel-planar (NCHW) into the NHWC input would rank them otherwise.
    expect(byQuery.result!.predictions.map((p) => p.label)).toEqual(expectedTinyRanking([255, 0, 0]));

    const form = new FormData();
    form.append('model', tiny.name);
    form.append('image', new Blob([new Uint8Array(await solid(0, 0, 255))]), 'blue.png');
    const byField = await fetch(`${api.url}/jobs`, { method: 'POST', body: form, headers: { Prefer: 'wait=30' } });
    const view = (await byField.json()) as { id: string; result?: { model: string; predictions: { label: string }[] } };
    expect(byField.status).toBe(200);
    expect(view.result!.model).toBe(tiny.name);
    expect(view.result!.predictions[0]!.label).toBe(expectedTinyRanking([0, 0, 255])[0]);
    // GET /jobs/:id finds the job in its model's queue.
    expect((await get(api.url, `/jobs/${view.id}`)).body).toMatchObject({
      id: view.id,
      status: 'completed',
      result: { model: tiny.name },
    });
  });

  it('both ResNet-50 builds give the expected top-1 for the shared photos (no `model`: the default)', async () => {
    for (const photo of ['coffee.png', 'eagle.jpg']) {
      const bytes = await image(photo);
      const results = [
        await submitAndWait(api.url, bytes, '?model=resnet50-v1.5'),
        await submitAndWait(api.url, bytes, '?model=resnet50-v1.5-int8'),
        await submitAndWait(api.url, bytes),
      ];
      expect(results.map((r) => r.result!.model)).toEqual([
        'resnet50-v1.5',
        'resnet50-v1.5-int8',
        'resnet50-v1.5-int8',
      ]);
      for (const r of results)
        expect(expectedTop1[photo], `${photo} on ${r.result!.model}`).toContain(r.result!.predictions[0]!.label);
    }
  });

  it('classify --model sends the model with each image, and with --batch', async () => {
    const file = path.join(path.dirname(tinyDir), 'red.png');
    await writeFile(file, await solid(255, 0, 0));
    for (const extra of [[], ['--batch']]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runClassify([file, '--url', api.url, '--model', tiny.name, '--json', ...extra], {
        out: (t) => void out.push(t),
        err: (t) => void err.push(t),
      });
      expect(code, err.join('')).toBe(0);
      const [entry] = JSON.parse(out.join('')) as { predictions: { label: string }[] }[];
      expect(entry!.predictions[0]!.label).toBe(expectedTinyRanking([255, 0, 0])[0]);
    }
  });

  it('runs a batch on the model it names, and refuses an unknown model with 404 unknown_model', async () => {
    const form = new FormData();
    form.append('model', tiny.name);
    form.append('image', new Blob([new Uint8Array(await solid(255, 0, 0))]), 'red.png');
    const submitted = await fetch(`${api.url}/batches`, { method: 'POST', body: form });
    expect(submitted.status).toBe(202);
    const { links } = (await submitted.json()) as { links: { wait: string; results: string } };
    expect((await get(api.url, `${links.wait}?timeout=30`)).status).toBe(200);
    const [line] = (await (await fetch(`${api.url}${links.results}`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BatchEntryView);
    expect(line).toMatchObject({ status: 'completed', result: { model: tiny.name } });

    for (const reply of [
      await postImage<ErrorBody>(api.url, await solid(1, 2, 3), { query: '?model=resnet51' }),
      await postImage<ErrorBody>(api.url, await solid(1, 2, 3), { route: '/batches', query: '?model=resnet51' }),
    ]) {
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('unknown_model');
    }
  });
});

describe('a model that no live worker has loaded', () => {
  let api: InProcessApi;
  let worker: RunningWorker;
  beforeAll(async () => {
    const config = testConfig(redisUrl, { MODEL_DIRS: `${tinyDir},${modelDir}`, WORKER_GRACE_SECONDS: '0' });
    // The worker loads only the tiny model: it takes that model's jobs and no others.
    worker = await startWorker(
      { ...config, models: { ...config.models, dirs: [tinyDir] } },
      createLogger('silent', 'test-worker'),
    );
    api = await startInProcessApi(config);
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
  });

  it('answers 503 no_worker for it, while the loaded model takes jobs', async () => {
    const models = ModelsSchema.parse((await get(api.url, '/models')).body).models;
    expect(models.map((m) => [m.name, m.ready, m.workers])).toEqual([
      [tiny.name, true, 1],
      ['resnet50-v1.5', false, 0],
    ]);
    const refused = await postImage<ErrorBody>(api.url, await solid(9, 9, 9), { query: '?model=resnet50-v1.5' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('no_worker');
    // Named as a multipart field, it is refused once the body is parsed.
    const form = new FormData();
    form.append('model', 'resnet50-v1.5');
    form.append('image', new Blob([new Uint8Array(await solid(9, 9, 9))]), 'grey.png');
    expect((await fetch(`${api.url}/jobs`, { method: 'POST', body: form })).status).toBe(503);
    // The default (first) model is the tiny one, which a worker serves.
    expect((await submitAndWait(api.url, await solid(255, 0, 0))).result!.model).toBe(tiny.name);
  });
});

describe('model names at start-up', () => {
  const log = createLogger('silent', 'test');

  it('API and worker refuse two models of one name with one sentence; the API, a DEFAULT_MODEL it lacks', async () => {
    const twice = testConfig(redisUrl, { MODEL_DIRS: `${tinyDir},${tinyDir}` });
    const sentence = `two model directories are both named "${tiny.name}": give one a different "name"`;
    const api = connectApiDeps(twice, log);
    await expect(api).rejects.toThrow(StartupError);
    await expect(api).rejects.toThrow(sentence);
    const worker = startWorker(twice, log);
    await expect(worker).rejects.toThrow(StartupError);
    await expect(worker).rejects.toThrow(sentence);
    await expect(
      connectApiDeps(testConfig(redisUrl, { MODEL_DIR: tinyDir, DEFAULT_MODEL: 'resnet' }), log),
    ).rejects.toThrow(`DEFAULT_MODEL "resnet" is none of the served models (${tiny.name})`);
  });
});
