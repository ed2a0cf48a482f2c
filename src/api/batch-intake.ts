import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { AppError } from '../errors.js';
import { TopkSchema } from '../queue/job-schemas.js';
import { ImageError } from '../model/image-error.js';
import { prepareImage } from '../model/preprocess.js';
import type { BatchEntry } from './batch-store.js';
import type { BatchView } from './wire.js';
import { readBatchUpload } from './batch-upload.js';
import type { ApiDeps } from './deps.js';
import type { ApiState } from './api-state.js';
import { parseParam } from './params.js';
import { parseSubmitOptions } from './submit-options.js';

/**
 * POST /batches: each image part is validated and reduced to its crop as it arrives (the crop
 * goes to Redis at once, so the API holds one upload at a time), a bad image becomes a failed
 * entry with the usual code, and once the body has ended every accepted image is queued in one
 * flow. Options come from the query string or from text fields anywhere in the body (they apply
 * to jobs created at the end). If the batch is refused after all, the stored crops are deleted.
 */
export async function acceptBatch(ctx: Context & { state: ApiState }, deps: ApiDeps): Promise<BatchView> {
  const entries: BatchEntry[] = [];
  const stored: string[] = [];
  try {
    const fields = await readBatchUpload(ctx.req, { maxUploadBytes: deps.limits.maxUploadBytes, maxImages: deps.limits.maxBatchImages }, async (part) => {
      if (part.error) return void entries.push({ filename: part.filename, error: { code: part.error.code, message: part.error.message } });
      try {
        const image = await prepareImage(part.bytes!, deps.manifest, { maxImagePixels: deps.limits.maxImagePixels });
        const jobId = await deps.store.storeInput(image);
        stored.push(jobId);
        entries.push({ filename: part.filename, jobId, image: { width: image.width, height: image.height, source: image.source } });
      } catch (err) {
        // Bad images fail their own entry (prepareImage refuses with the model layer's ImageError);
        // anything else (Redis down) ends the request.
        if (err instanceof ImageError) return void entries.push({ filename: part.filename, error: { code: err.code, message: err.message } });
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        entries.push({ filename: part.filename, error: { code: err.code, message: err.message } });
      }
    });
    const value = (name: string) => ctx.query[name] ?? fields[name];
    const topk = parseParam('topk', TopkSchema.optional(), value('topk')) ?? deps.manifest.topk;
    // A batch is background work unless it says otherwise: its images queue behind interactive jobs.
    const options = await parseSubmitOptions({ priority: value('priority'), webhook: value('webhook') }, deps, { priority: 'bulk' });
    return await deps.batches.create(randomUUID(), entries, { topk, owner: ctx.state.owner, ...options });
  } catch (err) {
    await deps.store.discardInputs(stored);
    throw err;
  }
}
