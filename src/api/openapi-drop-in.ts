import { z } from 'zod';
import type { OpenApiDocument, Operation } from './openapi.js';
import {
  InferenceRequestSchema,
  InferenceResponseSchema,
  ModelMetadataSchema,
  ModelReadySchema,
  OpenInferenceErrorSchema,
  ServerLiveSchema,
  ServerMetadataSchema,
  ServerReadySchema,
} from './open-inference/wire.js';
import {
  FilePageSchema,
  ModelPredictionRequestSchema,
  PredictionPageSchema,
  PredictionRequestSchema,
  ReplicateErrorSchema,
  ReplicateFileSchema,
  ReplicateModelSchema,
  ReplicatePredictionSchema,
  WebhookSecretSchema,
} from './replicate/wire.js';

type JsonSchema = Record<string, unknown>;
type Parameter = NonNullable<Operation['parameters']>[number];

/**
 * The two drop-in front doors in the OpenAPI document: Replicate's predictions API (/v1) and the
 * Open Inference Protocol v2 REST API (/v2). Built from their wire modules, merged into the
 * document by buildOpenApiDocument.
 */

function embedded(schema: JsonSchema): JsonSchema {
  const copy = { ...schema };
  delete copy['$schema'];
  delete copy['$id'];
  return copy;
}

export const dropInTags = [
  {
    name: 'replicate',
    description:
      "Replicate's predictions API, for the official `replicate` clients (`baseUrl: http://host:5000/v1`, " +
      'models `local/<name>`): the same jobs, keys, limits and webhook signer. See docs/drop-in.md.',
  },
  {
    name: 'open-inference',
    description:
      "The Open Inference Protocol v2 REST API (KServe, Triton), with Triton's binary tensor and classification " +
      'extensions. Errors are `{"error": "…"}`.',
  },
];

/** The schemas the two front doors answer with, as components. */
export function dropInSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string; description: string }>();
  registry.add(ReplicatePredictionSchema, { id: 'ReplicatePrediction', description: 'A Replicate prediction.' });
  registry.add(PredictionPageSchema, { id: 'ReplicatePredictionPage', description: 'A page of predictions.' });
  registry.add(ReplicateFileSchema, { id: 'ReplicateFile', description: 'A file uploaded with POST /v1/files.' });
  registry.add(FilePageSchema, { id: 'ReplicateFilePage', description: 'A page of files.' });
  registry.add(ReplicateModelSchema, { id: 'ReplicateModel', description: 'A served model, as Replicate shows one.' });
  registry.add(WebhookSecretSchema, { id: 'ReplicateWebhookSecret', description: 'The webhook signing secret.' });
  registry.add(ReplicateErrorSchema, { id: 'ReplicateError', description: 'Every /v1 error (problem details).' });
  registry.add(ServerLiveSchema, { id: 'V2ServerLive', description: 'Server liveness.' });
  registry.add(ServerReadySchema, { id: 'V2ServerReady', description: 'Server readiness: every model has a worker.' });
  registry.add(ServerMetadataSchema, { id: 'V2ServerMetadata', description: 'Server metadata.' });
  registry.add(ModelMetadataSchema, { id: 'V2ModelMetadata', description: "A model's tensors." });
  registry.add(ModelReadySchema, { id: 'V2ModelReady', description: 'Model readiness: a worker has it loaded.' });
  registry.add(InferenceResponseSchema, { id: 'V2InferenceResponse', description: 'An inference response.' });
  registry.add(OpenInferenceErrorSchema, { id: 'V2Error', description: 'Every /v2 error.' });
  const { schemas } = z.toJSONSchema(registry, { io: 'output', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embedded(schema as JsonSchema)]));
}

const json = (id: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${id}` } } });
const requestJson = (schema: z.ZodType) => ({ 'application/json': { schema: embedded(z.toJSONSchema(schema)) } });
const path = (name: string, description: string): Parameter => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const security: Record<string, string[]>[] = [{}, { apiKey: [] }];

/** Every error of a /v1 or /v2 route: its status and the front door's own shape, the code in the message. */
const errors = (id: 'ReplicateError' | 'V2Error') => ({
  default: {
    description:
      'Any error, with the status of its code in the error table (400, 401, 403, 404, 409, 413, 415, 422, 429, ' +
      '503, 504…).',
    content: json(id),
  },
});

function replicate(summary: string, description: string, op: Partial<Operation>): Operation {
  return { tags: ['replicate'], summary, description, security, responses: errors('ReplicateError'), ...op };
}

const predictionId = path('id', 'The prediction (job) ID.');
const owner = path('owner', 'Any owner: `local` by convention.');
const modelName = path('name', "A served model's name.");
const fileId = path('id', 'The file ID.');
const prediction = (status: string, description: string) => ({
  [status]: { description, content: json('ReplicatePrediction') },
});
const createDescription =
  '`input.image`: a data URI, the `urls.get` of a file from POST /v1/files (read locally), or an http(s) URL ' +
  'fetched through the webhook address guard. `Prefer: wait` or `wait=N` holds the answer until the prediction ' +
  'finishes (WAIT_MAX_SECONDS at most). `Idempotency-Key` works as on POST /jobs.';

function replicatePaths(): OpenApiDocument['paths'] {
  return {
    '/v1/predictions': {
      post: replicate('Create a prediction', createDescription, {
        requestBody: {
          required: true,
          description: 'The model (`version`) and input.',
          content: requestJson(PredictionRequestSchema),
        },
        responses: { ...prediction('201', 'Created (finished, with `Prefer: wait`).'), ...errors('ReplicateError') },
      }),
      get: replicate('List your predictions', 'Newest first, 100 a page; `next` is the next page.', {
        parameters: [
          { name: 'cursor', in: 'query', required: false, description: 'From `next`.', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'A page.', content: json('ReplicatePredictionPage') },
          ...errors('ReplicateError'),
        },
      }),
    },
    '/v1/models/{owner}/{name}/predictions': {
      post: replicate('Create a prediction of a model', createDescription, {
        parameters: [owner, modelName],
        requestBody: { required: true, description: 'The input.', content: requestJson(ModelPredictionRequestSchema) },
        responses: { ...prediction('201', 'Created (finished, with `Prefer: wait`).'), ...errors('ReplicateError') },
      }),
    },
    '/v1/predictions/{id}': {
      get: replicate('Read a prediction', 'Status `starting` (queued), `processing`, then a final one.', {
        parameters: [predictionId],
        responses: { ...prediction('200', 'The prediction.'), ...errors('ReplicateError') },
      }),
    },
    '/v1/predictions/{id}/cancel': {
      post: replicate('Cancel a prediction', 'A queued one becomes `canceled`; a running one answers 409.', {
        parameters: [predictionId],
        responses: { ...prediction('200', 'Canceled, or already finished.'), ...errors('ReplicateError') },
      }),
    },
    '/v1/predictions/{id}/stream': {
      get: replicate('Stream a prediction', "Server-Sent Events in Replicate's shape: `output`, `error`, `done`.", {
        parameters: [predictionId],
        responses: {
          '200': { description: 'The event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errors('ReplicateError'),
        },
      }),
    },
    '/v1/models/{owner}/{name}': {
      get: replicate('Describe a model', '`latest_version.id` is the sha256 of its ONNX file.', {
        parameters: [owner, modelName],
        responses: {
          '200': { description: 'The model.', content: json('ReplicateModel') },
          ...errors('ReplicateError'),
        },
      }),
    },
    '/v1/webhooks/default/secret': {
      get: replicate('Read the webhook signing secret', 'Only to one of API_KEYS (403 on an open API).', {
        responses: {
          '200': { description: 'The secret.', content: json('ReplicateWebhookSecret') },
          ...errors('ReplicateError'),
        },
      }),
    },
    '/v1/files': {
      post: replicate(
        'Upload a file',
        'An image (multipart `content`, optional `metadata` JSON), kept RESULT_TTL_SECONDS.',
        {
          requestBody: {
            required: true,
            description: 'The file.',
            content: {
              'multipart/form-data': { schema: { type: 'object', properties: { content: {}, metadata: {} } } },
            },
          },
          responses: { '201': { description: 'Stored.', content: json('ReplicateFile') }, ...errors('ReplicateError') },
        },
      ),
    },
    '/v1/files/{id}': {
      get: replicate('Read a file', 'Its metadata.', {
        parameters: [fileId],
        responses: { '200': { description: 'The file.', content: json('ReplicateFile') }, ...errors('ReplicateError') },
      }),
      delete: replicate('Delete a file', 'At once.', {
        parameters: [fileId],
        responses: { '204': { description: 'Deleted.' }, ...errors('ReplicateError') },
      }),
    },
    '/v1/files/{id}/download': {
      get: replicate('Download a file', 'Its bytes.', {
        parameters: [fileId],
        responses: { '200': { description: 'The bytes.', content: { 'image/*': {} } }, ...errors('ReplicateError') },
      }),
    },
  };
}

function v2(summary: string, op: Partial<Operation>): Operation {
  return { tags: ['open-inference'], summary, responses: errors('V2Error'), ...op };
}

function openInferencePaths(): OpenApiDocument['paths'] {
  const model = path('model', "A served model's name.");
  const version = path('version', 'Its only version, `1`.');
  const ready = (id: string) => ({
    '200': { description: 'Ready.', content: json(id) },
    '503': { description: 'Not ready (no live worker).', content: json(id) },
  });
  const paths: OpenApiDocument['paths'] = {
    '/v2/health/live': {
      get: v2('Server live', { responses: { '200': { description: 'Live.', content: json('V2ServerLive') } } }),
    },
    '/v2/health/ready': { get: v2('Server ready', { responses: ready('V2ServerReady') }) },
    '/v2': {
      get: v2('Server metadata', {
        responses: { '200': { description: 'The server.', content: json('V2ServerMetadata') } },
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
        responses: { '200': { description: 'The model.', content: json('V2ModelMetadata') }, ...errors('V2Error') },
      }),
    };
    paths[`${base}/ready`] = {
      get: v2('Model ready', {
        parameters: [...params],
        responses: { ...ready('V2ModelReady'), ...errors('V2Error') },
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
        security,
        requestBody: {
          required: true,
          description: 'The inference request (JSON, then binary data with the binary extension).',
          content: { ...requestJson(InferenceRequestSchema), 'application/octet-stream': {} },
        },
        responses: {
          '200': {
            description: 'The outputs (JSON; binary after the JSON when an output asked for `binary_data`).',
            content: { ...json('V2InferenceResponse'), 'application/octet-stream': {} },
          },
          ...errors('V2Error'),
        },
      }),
    };
  }
  return paths;
}

export const dropInPaths = (): OpenApiDocument['paths'] => ({ ...replicatePaths(), ...openInferencePaths() });
