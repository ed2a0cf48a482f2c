import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { chooseModel } from './accept-image.js';
import { ImageError } from '../../model/image-error.js';
import { TopkSchema } from '../../queue/job-schemas.js';
import { inspectImage, prepareImage } from '../../model/preprocess.js';
import type { BatchEntry, CreatedBatch, ServedModel } from '../../jobs/index.js';
import { readBatchUpload, type BatchPart } from './batch-upload.js';
import { multipartOverheadBytes } from './multipart-body.js';
import { declaredBodyBytes } from './upload.js';
import { limitUploadIdle } from './upload-idle-timeout.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../api-state.js';
import { parseParam } from '../params.js';
import { parseSubmitOptions } from '../submit-options.js';
import { AppError, queueFull } from '../../errors.js';

/**
 * POST /batches: each image part is validated and reduced to its crop as it arrives (the crop
 * goes to Redis at once, so the API holds one upload at a time), a bad image becomes a failed
 * entry with the usual code, and once the body has ended every accepted image is queued in one
 * flow. Options come from the query string or from text fields anywhere in the body (they apply
 * to jobs created at the end), except `model`, which the first image needs: all images of a batch
 * go to one model's queue. If the batch is refused after all, the stored crops are deleted.
 */
export async function acceptBatch(ctx: Context & { state: ApiState }, deps: ApiDeps): Promise<CreatedBatch> {
  const entries: BatchEntry[] = [];
  const stored: string[] = [];
  /** One model per batch, known by the first image: from the query, or a `model` field before it. */
  let model: ServedModel | undefined;
  const { admission, decodeSlots } = deps.uploads;
  const limits = { maxImagePixels: deps.limits.maxImagePixels };
  // A batch holds one part at a time: it is admitted like one single upload of the largest part.
  const release = admission.admit(
    Math.min(declaredBodyBytes(ctx) ?? Infinity, deps.limits.maxUploadBytes + multipartOverheadBytes),
  );
  let lift = limitUploadIdle(ctx.req, deps.limits.uploadIdleTimeoutMs);
  /**
   * Room for one more crop, checked before it is stored (issue 21, F4): under MAX_QUEUE_DEPTH with
   * the crops this batch already holds, and below Redis's memory share. Refusing ends the batch
   * and deletes its crops, so a refused batch leaves nothing behind.
   */
  const reserveRoom = async (chosen: ServedModel, bytes: number) => {
    await deps.uploads.redisHeadroom.assertRoom(bytes);
    const max = deps.limits.maxQueueDepth;
    if (max > 0 && (await chosen.store.depth()) + stored.length + 1 > max) throw queueFull(max, " with this batch's");
  };
  const acceptPart = async (part: BatchPart, chosen: ServedModel) => {
    if (part.error)
      return void entries.push({
        filename: part.filename,
        error: { code: part.error.code, message: part.error.message },
      });
    try {
      // As for single uploads: the header first, then a decode slot sized by it.
      const header = await inspectImage(part.bytes!, limits);
      const image = await decodeSlots.run(header.decodePixels, () =>
        prepareImage(part.bytes!, chosen.manifest, limits, header),
      );
      await reserveRoom(chosen, image.crop.length);
      const jobId = await chosen.store.storeInput(image);
      deps.uploads.redisHeadroom.note(image.crop.length);
      stored.push(jobId);
      entries.push({
        filename: part.filename,
        jobId,
        image: { width: image.width, height: image.height, source: image.source },
      });
    } catch (err) {
      // Bad images fail their own entry; anything else (Redis down) ends the request.
      if (!(err instanceof ImageError)) throw err;
      entries.push({ filename: part.filename, error: { code: err.code, message: err.message } });
    }
  };
  try {
    const fields = await readBatchUpload(
      ctx.req,
      { maxUploadBytes: deps.limits.maxUploadBytes, maxImages: deps.limits.maxBatchImages },
      async (part, fieldsSoFar) => {
        // The body waits while its part is decoded and stored: that is not the client idling.
        lift();
        try {
          model ??= await chooseModel(ctx, deps, ctx.query['model'] ?? fieldsSoFar['model']);
          await acceptPart(part, model);
        } finally {
          lift = limitUploadIdle(ctx.req, deps.limits.uploadIdleTimeoutMs);
        }
      },
    ).finally(() => lift());
    const value = (name: string) => ctx.query[name] ?? fields[name];
    if (!model) throw new AppError('missing_image', 'no file in any multipart field "image"');
    if (deps.models.pick(value('model')) !== model)
      throw new AppError('invalid_request', 'model: name it in the query or in a field before the first image');
    const topk = parseParam('topk', TopkSchema.optional(), value('topk')) ?? model.manifest.topk;
    // A batch is background work unless it says otherwise: its images queue behind interactive jobs.
    const options = await parseSubmitOptions({ priority: value('priority'), webhook: value('webhook') }, deps, {
      priority: 'bulk',
    });
    const submission = {
      topk,
      owner: ctx.state.owner,
      client: ctx.ip,
      idempotencyKey: ctx.get('idempotency-key') || undefined,
      ...options,
    };
    return await deps.batches.create(randomUUID(), entries, submission, model.store);
  } catch (err) {
    await model?.store.discardInputs(stored);
    throw err;
  } finally {
    release();
  }
}
