import type Router from '@koa/router';
import { z } from 'zod';
import { AppError, isErrorCode } from '../../errors.js';
import { acceptImage, waitForJob } from '../accept-image.js';
import { queueBackpressure, rateLimit, requireApiKey } from '../client-guards.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../error-handler.js';
import { multipartParser } from '../upload.js';

/** The Flask tutorial's response, unchanged, so its clients work as they are. */
export const PredictResponseSchema = z.object({
  success: z.literal(true),
  predictions: z.array(z.object({ label: z.string(), probability: z.number() })),
});

/** Top-k of the tutorial's `decode_predictions(preds)` call. */
const tutorialTopk = 5;

/** POST /predict: the tutorial's endpoint on the same queue path as /jobs, waited for synchronously. */
export function predictRoute(router: Router<ApiState>, deps: ApiDeps): void {
  router.post(
    '/predict',
    async (ctx, next) => {
      ctx.state.errorFormat = 'tutorial';
      await next();
    },
    requireApiKey(deps.clients.apiKeyDigests, deps.clients.authFailures),
    rateLimit(deps),
    queueBackpressure(deps),
    multipartParser(deps.limits.maxUploadBytes),
    async (ctx) => {
      const deadline = deps.limits.defaultDeadlineSeconds;
      const { view: queued } = await acceptImage(ctx, deps, {
        topk: tutorialTopk,
        deadlineAt: deadline > 0 ? Date.now() + deadline * 1000 : undefined,
      });
      const seconds = deps.limits.predictTimeoutSeconds;
      const view = await waitForJob(ctx, deps, queued.id, seconds);
      if (view?.status === 'failed' && view.error) {
        throw new AppError(isErrorCode(view.error.code) ? view.error.code : 'internal', view.error.message);
      }
      if (view?.status !== 'completed' || !view.result) {
        throw new AppError('timeout', `no result within ${seconds} s; the job goes on as ${queued.links.self}`);
      }
      ctx.body = PredictResponseSchema.parse({
        success: true,
        predictions: view.result.predictions.map(({ label, probability }) => ({ label, probability })),
      });
    },
  );
}
