import type Router from '@koa/router';
import { AppError, isErrorCode } from '../../errors.js';
import { acceptImage, deadlineAt, waitForJob } from '../uploads/accept-image.js';
import { queueBackpressure, rateLimit, requireApiKey } from '../guards/client-guards.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../api-state.js';
import { requireWorker } from '../guards/require-worker.js';
import { PredictResponseSchema } from '../wire.js';

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
    requireWorker(deps),
    queueBackpressure(deps),
    async (ctx) => {
      const { view: queued } = await acceptImage(ctx, deps, {
        topk: tutorialTopk,
        deadlineAt: deadlineAt(deps, undefined),
      });
      const seconds = deps.limits.predictTimeoutSeconds;
      const view = await waitForJob(ctx, deps, queued.id, seconds);
      if (view?.status === 'failed' && view.error) {
        // A job failure's message is written for clients by the worker (never a runtime's text).
        throw new AppError(
          isErrorCode(view.error.code) ? view.error.code : 'internal',
          view.error.message,
          {},
          { expose: true },
        );
      }
      if (view?.status !== 'completed' || !view.result) {
        throw new AppError(
          'timeout',
          `no result within ${seconds} s; the job goes on as ${queued.links.self}`,
          {},
          { expose: true },
        );
      }
      ctx.body = PredictResponseSchema.parse({
        success: true,
        predictions: view.result.predictions.map(({ label, probability }) => ({ label, probability })),
      });
    },
  );
}
