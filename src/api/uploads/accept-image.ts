import type { Context } from 'koa';
import { inspectImage, prepareImage, type PreparedImage } from '../../model/preprocess.js';
import { clientGoneSignal } from '../client-gone.js';
import { jobReader } from '../job-reader.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../api-state.js';
import type { Submission, Submitted, ServedModel } from '../../jobs/index.js';
import { submitValue } from '../submit-options.js';
import { declaredBodyBytes, maxBodyBytes, readImageUpload } from './upload.js';
import { limitUploadIdle } from './upload-idle-timeout.js';
import type { JobView } from '../wire.js';

type ApiContext = Context & { state: ApiState };

/**
 * Reads, validates and preprocesses the upload for the model it names (chooseModel), then enqueues
 * it in that model's queue for the calling client: the shared path of /jobs and /predict. The model
 * may be named beside the image (a multipart field or JSON property), so it is resolved once the
 * body is read; `topk` undefined means the model manifest's. The upload is admitted to memory
 * before its body is read (503 when the API already holds as many as it may) and keeps its place
 * until it is decoded; decoding waits for room among the decode slots, by count and by pixels.
 */
export async function acceptImage(
  ctx: ApiContext,
  deps: ApiDeps,
  job: Pick<Submission, 'deadlineAt'> & { topk: number | undefined },
  /**
   * Submission options read from the body's text fields (in ctx.request.body) once it is read;
   * only `fieldNames` are allowed there.
   */
  options?: { fieldNames: readonly string[]; parse: () => Promise<Pick<Submission, 'priority' | 'webhook'>> },
): Promise<Submitted> {
  const t0 = performance.now();
  const { admission } = deps.uploads;
  const limit = maxBodyBytes(ctx, deps.limits.maxUploadBytes);
  const release = admission.admit(Math.min(declaredBodyBytes(ctx) ?? limit, limit));
  let image;
  let model: ServedModel;
  let t1: number;
  try {
    const lift = limitUploadIdle(ctx.req, deps.limits.uploadIdleTimeoutMs);
    const upload = await readImageUpload(ctx, deps.limits.maxUploadBytes, [
      'model',
      ...(options?.fieldNames ?? []),
    ]).finally(lift);
    t1 = performance.now();
    model = await chooseModel(ctx, deps);
    image = await prepareUpload(deps, model, upload);
  } finally {
    release();
  }
  const t2 = performance.now();
  const chosen = options ? await options.parse() : {};
  const idempotencyKey = ctx.get('idempotency-key') || undefined;
  // Counted until the next sample of Redis's memory sees it (RedisHeadroom).
  deps.uploads.redisHeadroom.note(image.crop.length);
  const submitted = await model.store.submit(image, {
    ...job,
    topk: job.topk ?? model.manifest.topk,
    ...chosen,
    owner: ctx.state.owner,
    client: ctx.ip,
    idempotencyKey,
  });
  // Where the submission's time went (the bench's stage breakdown reads it; browsers show it too).
  // "preprocess" includes any wait for a decode slot.
  ctx.append('Server-Timing', [
    serverTiming('upload', t1 - t0),
    serverTiming('preprocess', t2 - t1),
    serverTiming('enqueue', performance.now() - t2),
  ]);
  return submitted;
}

/**
 * Validates and preprocesses image bytes for `model` within the decode slots: the header alone
 * (format, size, pixel limit) first, so refusals do not wait, and the decode is admitted by its size.
 */
export async function prepareUpload(
  deps: Pick<ApiDeps, 'uploads' | 'limits'>,
  model: ServedModel,
  upload: Buffer,
): Promise<PreparedImage> {
  const limits = { maxImagePixels: deps.limits.maxImagePixels };
  // The header alone (format, size, pixel limit) before waiting: refusals do not queue, and the
  // decode is admitted by its size.
  const header = await inspectImage(upload, limits);
  return deps.uploads.decodeSlots.run(header.decodePixels, () => prepareImage(upload, model.manifest, limits, header));
}

const serverTiming = (name: string, ms: number) => `${name};dur=${ms.toFixed(2)}`;

/**
 * `Server-Timing: event;dur=…` on the answer of a wait that saw its job finish: ms from the
 * worker finishing it to this API holding its result (the completion event plus re-reading the
 * job). Left out when the job had finished before the wait began (`sinceMs`, epoch ms).
 */
export function appendEventTiming(ctx: ApiContext, view: JobView, sinceMs: number): void {
  const finishedAt = view.finishedAt ? Date.parse(view.finishedAt) : NaN;
  if (finishedAt >= sinceMs) ctx.append('Server-Timing', serverTiming('event', Math.max(0, Date.now() - finishedAt)));
}

/** Waits for the job as long as the client stays connected, at most `seconds`. */
export function waitForJob(ctx: ApiContext, deps: ApiDeps, id: string, seconds: number): Promise<JobView | undefined> {
  return deps.waiter.wait(id, seconds * 1000, jobReader(deps, id, ctx.state.owner), clientGoneSignal(ctx));
}

/**
 * When a submission's job must start by (epoch ms): `?deadline=` seconds, else
 * DEFAULT_DEADLINE_SECONDS; undefined for none.
 */
export function deadlineAt(deps: Pick<ApiDeps, 'limits'>, seconds: number | undefined): number | undefined {
  const s = seconds ?? deps.limits.defaultDeadlineSeconds;
  return s > 0 ? Date.now() + s * 1000 : undefined;
}

/**
 * The model a submission names (`name`: by default the query parameter, multipart field or JSON
 * property; DEFAULT_MODEL, else the first, when none), checked to have a live worker: call once
 * the body is read (a batch: once its first image arrives).
 */
export async function chooseModel(
  ctx: ApiContext,
  deps: Pick<ApiDeps, 'models' | 'acceptWithoutWorkerUntil'>,
  name: unknown = submitValue(ctx, 'model'),
): Promise<ServedModel> {
  const model = deps.models.pick(name);
  // Checked before the body was read already (requireWorker) when it is the model looked at then.
  if (model.name !== ctx.state.liveModel) await deps.models.requireWorker(model, deps.acceptWithoutWorkerUntil);
  return model;
}
