import type Router from '@koa/router';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ApiState } from '../api-state.js';
import { rateLimit, requireApiKey } from '../guards/client-guards.js';
import type { ApiDeps } from '../deps.js';
import { maxJsonBytes } from '../uploads/json-image.js';
import { declaredBodyBytes } from '../uploads/upload.js';
import { limitUploadIdle } from '../uploads/upload-idle-timeout.js';
import { parseInferBody } from './infer-body.js';
import { encodeInferResponse } from './infer-response.js';
import { runInference } from './run-inference.js';
import {
  inputName,
  modelVersion,
  outputName,
  type ModelMetadataSchema,
  type ModelReadySchema,
  type ServerLiveSchema,
  type ServerMetadataSchema,
  type ServerReadySchema,
} from './wire.js';

/** The version /v2 reports: that of this protocol front door (bumped when it changes). */
const serverVersion = '1.0.0';

/**
 * The Open Inference Protocol v2 REST API under /v2 (KServe's and Triton's clients), with Triton's
 * binary tensor and classification extensions: a third door to the same jobs. Health and metadata
 * are open like /healthz; infer takes the API key like /jobs.
 */
export function openInferenceRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  const guards = [requireApiKey(deps.clients.apiKeyDigests, deps.clients.authFailures), rateLimit(deps)];
  /** The model in the path, and its version if one is named (only "1" exists). */
  const modelOf = (params: Record<string, string | undefined>) => {
    const model = deps.models.pick(params['model']);
    const version = params['version'];
    if (version !== undefined && version !== modelVersion)
      throw new AppError(
        'not_found',
        `model ${model.name} has no version ${version}; its only version is ${modelVersion}`,
      );
    return model;
  };

  router.get('/v2/health/live', (ctx) => {
    ctx.body = { live: true } satisfies z.infer<typeof ServerLiveSchema>;
  });

  /** Ready when every served model has a live worker; 503 (with the same body) otherwise. */
  router.get('/v2/health/ready', async (ctx) => {
    const counts = await Promise.all(deps.models.models.map((m) => m.store.workerCount()));
    const ready = counts.every((n) => n > 0);
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready } satisfies z.infer<typeof ServerReadySchema>;
  });

  router.get('/v2', (ctx) => {
    ctx.body = {
      name: 'resnet-queue',
      version: serverVersion,
      extensions: ['binary_tensor_data', 'classification'],
    } satisfies z.infer<typeof ServerMetadataSchema>;
  });

  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    router.get(base, (ctx) => {
      const model = modelOf(ctx.params);
      const { inputSize: s, layout } = model.manifest;
      ctx.body = {
        name: model.name,
        versions: [modelVersion],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: inputName, datatype: 'FP32', shape: layout === 'NHWC' ? [-1, s, s, 3] : [-1, 3, s, s] }],
        outputs: [{ name: outputName, datatype: 'FP32', shape: [-1, model.classes ?? -1] }],
      } satisfies z.infer<typeof ModelMetadataSchema>;
    });

    router.get(`${base}/ready`, async (ctx) => {
      const model = modelOf(ctx.params);
      const ready = (await model.store.workerCount()) > 0;
      ctx.status = ready ? 200 : 503;
      ctx.body = { name: model.name, ready } satisfies z.infer<typeof ModelReadySchema>;
    });

    router.post(`${base}/infer`, ...guards, async (ctx) => {
      const model = modelOf(ctx.params);
      const limit = maxJsonBytes(deps.limits.maxUploadBytes);
      if ((declaredBodyBytes(ctx) ?? 0) > limit)
        throw new AppError('payload_too_large', `the request exceeds the limit of ${limit} bytes`);
      const release = deps.uploads.admission.admit(Math.min(declaredBodyBytes(ctx) ?? limit, limit));
      let body;
      try {
        const lift = limitUploadIdle(ctx.req, deps.limits.uploadIdleTimeoutMs);
        const raw = await getRawBody(ctx.req, { limit })
          .finally(lift)
          .catch((err: unknown) => {
            if ((err as { type?: string }).type === 'entity.too.large')
              throw new AppError('payload_too_large', `the request exceeds the limit of ${limit} bytes`);
            throw new AppError('invalid_request', 'the body could not be read');
          });
        body = parseInferBody(raw, ctx.get('inference-header-content-length'));
      } finally {
        release();
      }
      const { response, binary } = await runInference(ctx, deps, model, body);
      const encoded = encodeInferResponse(response, binary);
      if (encoded.headerLength !== undefined) {
        ctx.set('Inference-Header-Content-Length', String(encoded.headerLength));
        ctx.type = 'application/octet-stream';
      }
      ctx.body = encoded.body;
    });
  }
}
