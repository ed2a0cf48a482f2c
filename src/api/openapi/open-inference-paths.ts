import { InferenceRequestSchema } from '../open-inference/wire.js';
import { clientSecurity, frontDoorErrors } from './error-responses.js';
import type { Operation, Paths } from './openapi-document.js';
import { jsonOf, pathParameter, requestJsonOf } from './schema-fragments.js';

function v2(summary: string, op: Partial<Operation>): Operation {
  return { tags: ['open-inference'], summary, responses: frontDoorErrors('V2Error'), ...op };
}

/** The Open Inference Protocol v2 REST API (/v2: KServe, Triton). */
export function openInferencePaths(): Paths {
  const model = pathParameter('model', "A served model's name.");
  const version = pathParameter('version', 'Its only version, `1`.');
  const ready = (id: string) => ({
    '200': { description: 'Ready.', content: jsonOf(id) },
    '503': { description: 'Not ready (no live worker).', content: jsonOf(id) },
  });
  const paths: Paths = {
    '/v2/health/live': {
      get: v2('Server live', { responses: { '200': { description: 'Live.', content: jsonOf('V2ServerLive') } } }),
    },
    '/v2/health/ready': { get: v2('Server ready', { responses: ready('V2ServerReady') }) },
    '/v2': {
      get: v2('Server metadata', {
        responses: { '200': { description: 'The server.', content: jsonOf('V2ServerMetadata') } },
      }),
    },
  };
  for (const [base, params] of [
    ['/v2/models/{model}', [model]],
    ['/v2/models/{model}/versions/{version}', [model, version]],
  ] as const) {
    paths[base] = {
      get: v2('Model metadata', {
        parameters: [...params],
        responses: {
          '200': { description: 'The model.', content: jsonOf('V2ModelMetadata') },
          ...frontDoorErrors('V2Error'),
        },
      }),
    };
    paths[`${base}/ready`] = {
      get: v2('Model ready', {
        parameters: [...params],
        responses: { ...ready('V2ModelReady'), ...frontDoorErrors('V2Error') },
      }),
    };
    paths[`${base}/infer`] = {
      post: v2('Infer', {
        description:
          'One input: FP32 `[N,3,S,S]` (or NHWC, per the manifest) normalised as the model expects, in JSON `data` ' +
          'or binary; or BYTES `[N]` encoded images through the binary extension (4-byte little-endian length, then ' +
          'the file). Each image is one job; the answer comes when all are done (PREDICT_TIMEOUT_SECONDS, else 504). ' +
          'Output `output`: logits FP32 `[N, classes]`, or with `parameters.classification: k` BYTES ' +
          '`"<logit>:<index>:<label>"` `[N, k]`.',
        parameters: [
          ...params,
          {
            name: 'Inference-Header-Content-Length',
            in: 'header',
            required: false,
            description: 'Binary tensor extension: the length of the JSON before the binary data.',
            schema: { type: 'string' },
          },
        ],
        security: clientSecurity,
        requestBody: {
          required: true,
          description: 'The inference request (JSON, then binary data with the binary extension).',
          content: { ...requestJsonOf(InferenceRequestSchema), 'application/octet-stream': {} },
        },
        responses: {
          '200': {
            description: 'The outputs (JSON; binary after the JSON when an output asked for `binary_data`).',
            content: { ...jsonOf('V2InferenceResponse'), 'application/octet-stream': {} },
          },
          ...frontDoorErrors('V2Error'),
        },
      }),
    };
  }
  return paths;
}
