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
  const t0 = performance.now();
  const upload = await readImageUpload(ctx, deps.limits.maxUploadBytes);
  const t1 = performance.now();
  const image = await prepareImage(upload, deps.manifest, { maxImagePixels: deps.limits.maxImagePixels });
  const t2 = performance.now();
  const idempotencyKey = ctx.get('idempotency-key') || undefined;
  const submitted = await deps.store.submit(image, { ...job, owner: ctx.state.owner, client: ctx.ip, idempotencyKey });
  // Where the submission's time went (the bench's stage breakdown reads it; browsers show it too).
  ctx.append('Server-Timing', [serverTiming('upload', t1 - t0), serverTiming('preprocess', t2 - t1), serverTiming('enqueue', performance.now() - t2)]);
  return submitted;
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
  const clientGone = new AbortController();
  ctx.res.once('close', () => clientGone.abort());
  return deps.waiter.wait(id, seconds * 1000, () => deps.store.get(id, ctx.state.owner), clientGone.signal);
}

/** When a submission's job must start by (epoch ms): `?deadline=` seconds, else DEFAULT_DEADLINE_SECONDS; undefined for none. */
export function deadlineAt(deps: Pick<ApiDeps, 'limits'>, seconds: number | undefined): number | undefined {
  const s = seconds ?? deps.limits.defaultDeadlineSeconds;
  return s > 0 ? Date.now() + s * 1000 : undefined;
}
