import type { Context } from 'koa';
import { prepareImage } from '../model/preprocess.js';
import type { ApiDeps } from './deps.js';
import type { JobView } from './job-view.js';
import { readImageUpload } from './upload.js';

/** Reads, validates and preprocesses the upload, then enqueues it: the shared path of /jobs and /predict. */
export async function acceptImage(ctx: Context, deps: ApiDeps, topk: number): Promise<JobView> {
  const upload = await readImageUpload(ctx, deps.limits.maxUploadBytes);
  const image = await prepareImage(upload, deps.manifest, { maxImagePixels: deps.limits.maxImagePixels });
  return deps.store.submit(image, topk);
}

/** Waits for the job as long as the client stays connected, at most `seconds`. */
export function waitForJob(ctx: Context, deps: ApiDeps, id: string, seconds: number): Promise<JobView | undefined> {
  const clientGone = new AbortController();
  ctx.res.once('close', () => clientGone.abort());
  return deps.waiter.wait(id, seconds * 1000, () => deps.store.get(id), clientGone.signal);
}
