import type { Context } from 'koa';
import { prepareImage } from '../model/preprocess.js';
import type { ApiDeps } from './deps.js';
import type { ApiState } from './api-state.js';
import type { Submission, Submitted } from './job-store.js';
import { readImageUpload } from './upload.js';
import type { JobView } from './wire.js';

type ApiContext = Context & { state: ApiState };

/**
 * Reads, validates and preprocesses the upload, then enqueues it for the calling client: the
 * shared path of /jobs and /predict.
 */
export async function acceptImage(ctx: ApiContext, deps: ApiDeps, job: Pick<Submission, 'topk' | 'deadlineAt' | 'priority' | 'webhook'>): Promise<Submitted> {
  const upload = await readImageUpload(ctx, deps.limits.maxUploadBytes);
  const image = await prepareImage(upload, deps.manifest, { maxImagePixels: deps.limits.maxImagePixels });
  const idempotencyKey = ctx.get('idempotency-key') || undefined;
  return deps.store.submit(image, { ...job, owner: ctx.state.owner, idempotencyKey });
}

/** Waits for the job as long as the client stays connected, at most `seconds`. */
export function waitForJob(ctx: ApiContext, deps: ApiDeps, id: string, seconds: number): Promise<JobView | undefined> {
  const clientGone = new AbortController();
  ctx.res.once('close', () => clientGone.abort());
  return deps.waiter.wait(id, seconds * 1000, () => deps.store.get(id, ctx.state.owner), clientGone.signal);
}

/** When a submission's job must start by (epoch ms): `?deadline=` seconds, else DEFAULT_DEADLINE_SECONDS; undefined for none. */
export function deadlineAt(deps: Pick<ApiDeps, 'limits'>, seconds: number | undefined): number | undefined {
  const s = seconds ?? deps.limits.defaultDeadlineSeconds;
  return s > 0 ? Date.now() + s * 1000 : undefined;
}
