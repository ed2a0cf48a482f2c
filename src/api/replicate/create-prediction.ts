import type { Context } from 'koa';
import type { z } from 'zod';
import { deadlineAt, prepareUpload, waitForJob } from '../uploads/accept-image.js';
import { publicOrigin } from './public-origin.js';
import type { ApiState } from '../api-state.js';
import type { ApiDeps } from '../deps.js';
import { maxJsonBytes } from '../uploads/json-image.js';
import type { ServedModel } from '../../jobs/index.js';
import { preferWaitSeconds } from '../params.js';
import { parseSubmitOptions } from '../submit-options.js';
import { readImageInput } from './image-input.js';
import { readJsonBody } from './read-json-body.js';
import { declaredBodyBytes } from '../uploads/upload.js';
import { toPrediction, type PredictionRecord } from './prediction-view.js';
import type { ModelPredictionRequestSchema, ReplicatePrediction } from './wire.js';

type ApiContext = Context & { state: ApiState };
type Request = z.infer<typeof ModelPredictionRequestSchema>;

/** `Prefer: wait=N` waits N seconds, a bare `Prefer: wait` (the SDK's `run`) as long as WAIT_MAX_SECONDS allows. */
function waitSeconds(prefer: string, max: number): number {
  const seconds = preferWaitSeconds(prefer) ?? (/(?:^|[;,\s])wait(?:$|[;,\s])/i.test(prefer) ? max : 0);
  return Math.min(seconds, max);
}

/**
 * POST /v1/predictions and /v1/models/{owner}/{name}/predictions: the body is read and parsed, its
 * model chosen (`modelOf`), and the image `input.image` names is
 * read (data URI, one of our files, or a guarded URL), preprocessed within the upload limits and
 * submitted to `model`'s job store as any job is (queue depth, idempotency, deadlines, webhooks);
 * with `Prefer: wait` the answer waits for it as a long-poll does.
 */
export async function createPrediction<R extends Request>(
  ctx: ApiContext,
  deps: ApiDeps,
  schema: z.ZodType<R>,
  modelOf: (request: R) => Promise<ServedModel>,
): Promise<ReplicatePrediction> {
  const { replicate } = deps;
  const owner = ctx.state.owner;
  const origin = publicOrigin(ctx);
  // The body, and the bytes of a file or URL it names, are held like an upload's: admitted
  // before the body is read, dropped once decoded.
  const limit = maxJsonBytes(deps.limits.maxUploadBytes);
  const release = deps.uploads.admission.admit(Math.min(declaredBodyBytes(ctx) ?? limit, limit));
  let request: R;
  let model: ServedModel;
  let image;
  let from;
  let releaseImage = () => {};
  try {
    request = await readJsonBody(ctx, limit, deps.limits.uploadIdleTimeoutMs, schema);
    // A URL's image (fetched, or one of our files read from Redis) is held as well as the body.
    if (!request.input.image.startsWith('data:'))
      releaseImage = deps.uploads.admission.admit(deps.limits.maxUploadBytes);
    model = await modelOf(request);
    await deps.models.requireWorker(model, deps.acceptWithoutWorkerUntil);
    const input = await readImageInput(request.input.image, {
      origin,
      owner,
      files: replicate.files,
      fetch: replicate.fetch,
    });
    from = input.from;
    image = await prepareUpload(deps, model, input.bytes);
  } finally {
    releaseImage();
    release();
  }
  const { priority, webhook } = await parseSubmitOptions({ webhook: request.webhook }, deps, {
    priority: 'interactive',
  });
  const topk = request.input.topk ?? model.manifest.topk;
  const { format, width, height, bytes } = image.source;
  const record: PredictionRecord = {
    model: model.name,
    version: (await replicate.versions.of(model.name)) ?? model.name,
    input: { image: `${format} ${width}x${height}, ${bytes} bytes, from ${from}`, topk },
  };
  const events = request.webhook_events_filter ?? ['start', 'output', 'logs', 'completed'];
  const sendsAny = events.includes('start') || events.includes('completed');
  const { view, replayed } = await model.store.submit(image, {
    topk,
    deadlineAt: deadlineAt(deps, undefined),
    owner,
    client: ctx.ip,
    idempotencyKey: ctx.get('idempotency-key') || undefined,
    priority,
    webhook: sendsAny ? webhook : undefined,
    webhookEvents: {
      subject: 'prediction',
      origin,
      completed: events.includes('completed'),
      start: events.includes('start')
        ? (id, createdAt) =>
            JSON.stringify(
              toPrediction(
                { id, status: 'queued', createdAt: createdAt.toISOString(), links: { self: '', wait: '' } },
                record,
                origin,
              ),
            )
        : undefined,
    },
  });
  if (replayed) ctx.set('Idempotent-Replayed', 'true');
  // After the submit, which makes the ID: a `completed` webhook read before this line (a job done in
  // under a round trip) would show the model from its result and no input description.
  else await replicate.predictions.remember(view.id, view.createdAt, record, { owner, client: ctx.ip });
  const seconds = waitSeconds(ctx.get('prefer'), deps.limits.waitMaxSeconds);
  if (seconds > 0) ctx.set('Preference-Applied', `wait=${seconds}`);
  const latest = seconds > 0 ? ((await waitForJob(ctx, deps, view.id, seconds)) ?? view) : view;
  return toPrediction(latest, record, origin);
}
