import type { Context } from 'koa';
import { AppError, isErrorCode, unavailable } from '../../errors.js';
import { encodeCrop } from '../../model/crop-codec.js';
import type { PreparedImage } from '../../model/preprocess.js';
import { deadlineAt, prepareUpload } from '../uploads/accept-image.js';
import { jobReader } from '../job-reader.js';
import type { ApiState } from '../api-state.js';
import { clientGoneSignal } from '../client-gone.js';
import type { ApiDeps } from '../deps.js';
import type { ServedModel } from '../../jobs/index.js';
import { isTerminal, type JobView } from '../wire.js';
import { inputImages, type InferBody } from './infer-body.js';
import { modelVersion, outputName, type InferenceResponse, type ResponseOutput } from './wire.js';

type ApiContext = Context & { state: ApiState };

/** The model-sized crops of the request's images, as a job stores them. */
async function preparedImages(deps: ApiDeps, model: ServedModel, body: InferBody): Promise<PreparedImage[]> {
  const images = inputImages(body, model.manifest, deps.limits.maxBatchImages);
  if (images.kind === 'encoded') return Promise.all(images.images.map((bytes) => prepareUpload(deps, model, bytes)));
  const size = model.manifest.inputSize;
  return Promise.all(
    images.images.map(async (pixels) => ({
      crop: await encodeCrop(pixels, size),
      width: size,
      height: size,
      source: { format: 'tensor', width: size, height: size, bytes: size * size * 3 * 4 },
    })),
  );
}

/** A finished job that failed ends the request with its own code and message. */
function failure(view: JobView): AppError {
  const code = view.error?.code ?? 'internal';
  return new AppError(
    isErrorCode(code) ? code : 'internal',
    `job ${view.id}: ${view.error?.message ?? 'failed'}`,
    {},
    {
      expose: true,
    },
  );
}

/**
 * POST /v2/models/{m}/infer: each image becomes one job in the model's queue, like any submission
 * (queue depth, deadlines, the caller's key), batched with others by the workers; the answer comes
 * when all have finished, within PREDICT_TIMEOUT_SECONDS (else 504; the jobs go on). Outputs: the
 * logits FP32 [N, classes], or with `parameters.classification: k` the top k as BYTES
 * `"<logit>:<index>:<label>"` strings [N, k] (Triton's classification extension).
 */
export async function runInference(
  ctx: ApiContext,
  deps: ApiDeps,
  model: ServedModel,
  body: InferBody,
): Promise<{ response: InferenceResponse; binary: boolean[] }> {
  const { request } = body;
  const requested = request.outputs ?? [{ name: outputName }];
  for (const output of requested)
    if (output.name !== outputName)
      throw new AppError('invalid_request', `no output ${output.name}: it is "${outputName}"`);
  const classification = requested.map((o) => o.parameters?.classification);
  const topk = Math.max(model.manifest.topk, ...classification.map((k) => k ?? 0));
  await deps.models.requireWorker(model, deps.acceptWithoutWorkerUntil);
  const images = await preparedImages(deps, model, body);
  const owner = ctx.state.owner;
  const submission = { topk, deadlineAt: deadlineAt(deps, undefined), owner, client: ctx.ip, logits: true };
  const ids: string[] = [];
  for (const image of images) ids.push((await model.store.submit(image, submission)).view.id);
  const timeoutMs = deps.limits.predictTimeoutSeconds * 1000;
  const views = await Promise.all(
    ids.map((id) => deps.waiter.wait(id, timeoutMs, jobReader(deps, id, owner), clientGoneSignal(ctx))),
  );
  const unfinished = views.filter((v) => !v || !isTerminal(v.status));
  if (unfinished.length > 0)
    throw new AppError(
      'timeout',
      `${unfinished.length} of ${ids.length} images did not finish within ${deps.limits.predictTimeoutSeconds} s ` +
        `(PREDICT_TIMEOUT_SECONDS); their jobs go on: ${ids.join(', ')}`,
      {},
      { expose: true },
    );
  const done = views as JobView[];
  const failed = done.find((v) => v.status === 'failed');
  if (failed) throw failure(failed);
  // A worker of a release before logits (a rolling deploy) answers without them.
  if (done.some((v) => v.result?.logits === undefined))
    throw unavailable('a worker without logits support ran these images; retry once every worker is updated', {
      expose: true,
    });
  const binaryOutputs = request.parameters?.['binary_data_output'] === true;
  const outputs = requested.map((output, i): ResponseOutput => {
    const k = classification[i];
    if (k === undefined) {
      const logits = done.flatMap((v) => v.result!.logits!);
      return { name: outputName, datatype: 'FP32', shape: [done.length, logits.length / done.length], data: logits };
    }
    const strings = done.flatMap((v) =>
      v
        .result!.predictions.slice(0, k)
        .map((p) => `${v.result!.logits![p.classId]!.toFixed(6)}:${p.classId}:${p.label}`),
    );
    return { name: outputName, datatype: 'BYTES', shape: [done.length, k], data: strings };
  });
  return {
    response: { model_name: model.name, model_version: modelVersion, id: request.id ?? '', outputs },
    binary: requested.map((o) => o.parameters?.binary_data ?? binaryOutputs),
  };
}
