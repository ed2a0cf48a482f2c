import type Router from '@koa/router';
import type { ApiState } from '../api-state.js';
import { rateLimit, requireApiKey } from '../guards/client-guards.js';
import type { ApiDeps } from '../deps.js';
import type { ModelView, ModelsSchema } from '../wire.js';
import type { z } from 'zod';

/** GET /models: what each served model expects and whether a worker has it loaded. */
export function modelRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  router.get(
    '/models',
    requireApiKey(deps.clients.apiKeyDigests, deps.clients.authFailures),
    rateLimit(deps),
    async (ctx) => {
      const catalog = deps.models;
      const models = await Promise.all(
        catalog.models.map(async (model): Promise<ModelView> => {
          const [workers, paused] = await Promise.all([model.signals.workers(), model.signals.paused()]);
          const { inputSize, layout } = model.manifest;
          return {
            name: model.name,
            precision: await model.precision,
            input: { size: inputSize, layout },
            classes: model.classes,
            ready: workers > 0 && !paused,
            workers,
            paused,
          };
        }),
      );
      ctx.body = { models, default: catalog.defaultModel.name } satisfies z.infer<typeof ModelsSchema>;
    },
  );
}
