import { ModelPredictionRequestSchema, PredictionRequestSchema } from '../replicate/wire.js';
import { clientSecurity, frontDoorErrors } from './error-responses.js';
import type { Operation, Paths } from './openapi-document.js';
import { jsonOf, pathParameter, requestJsonOf } from './schema-fragments.js';

function replicate(summary: string, description: string, op: Partial<Operation>): Operation {
  return {
    tags: ['replicate'],
    summary,
    description,
    security: clientSecurity,
    responses: frontDoorErrors('ReplicateError'),
    ...op,
  };
}

const predictionId = pathParameter('id', 'The prediction (job) ID.');
const owner = pathParameter('owner', 'Any owner: `local` by convention.');
const modelName = pathParameter('name', "A served model's name.");
const fileId = pathParameter('id', 'The file ID.');
const prediction = (status: string, description: string) => ({
  [status]: { description, content: jsonOf('ReplicatePrediction') },
});
const createDescription =
  '`input.image`: a data URI, the `urls.get` of a file from POST /v1/files (read locally), or an http(s) URL ' +
  'fetched through the webhook address guard. `Prefer: wait` or `wait=N` holds the answer until the prediction ' +
  'finishes (WAIT_MAX_SECONDS at most). `Idempotency-Key` works as on POST /jobs.';

/** Replicate's predictions API (/v1), for the official `replicate` clients. */
export function replicatePaths(): Paths {
  return {
    '/v1/predictions': {
      post: replicate('Create a prediction', createDescription, {
        requestBody: {
          required: true,
          description: 'The model (`version`) and input.',
          content: requestJsonOf(PredictionRequestSchema),
        },
        responses: {
          ...prediction('201', 'Created (finished, with `Prefer: wait`).'),
          ...frontDoorErrors('ReplicateError'),
        },
      }),
      get: replicate('List your predictions', 'Newest first, 100 a page; `next` is the next page.', {
        parameters: [
          { name: 'cursor', in: 'query', required: false, description: 'From `next`.', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'A page.', content: jsonOf('ReplicatePredictionPage') },
          ...frontDoorErrors('ReplicateError'),
        },
      }),
    },
    '/v1/models/{owner}/{name}/predictions': {
      post: replicate('Create a prediction of a model', createDescription, {
        parameters: [owner, modelName],
        requestBody: {
          required: true,
          description: 'The input.',
          content: requestJsonOf(ModelPredictionRequestSchema),
        },
        responses: {
          ...prediction('201', 'Created (finished, with `Prefer: wait`).'),
          ...frontDoorErrors('ReplicateError'),
        },
      }),
    },
    '/v1/predictions/{id}': {
      get: replicate('Read a prediction', 'Status `starting` (queued), `processing`, then a final one.', {
        parameters: [predictionId],
        responses: { ...prediction('200', 'The prediction.'), ...frontDoorErrors('ReplicateError') },
      }),
    },
    '/v1/predictions/{id}/cancel': {
      post: replicate('Cancel a prediction', 'A queued one becomes `canceled`; a running one answers 409.', {
        parameters: [predictionId],
        responses: { ...prediction('200', 'Canceled, or already finished.'), ...frontDoorErrors('ReplicateError') },
      }),
    },
    '/v1/predictions/{id}/stream': {
      get: replicate('Stream a prediction', "Server-Sent Events in Replicate's shape: `output`, `error`, `done`.", {
        parameters: [predictionId],
        responses: {
          '200': { description: 'The event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...frontDoorErrors('ReplicateError'),
        },
      }),
    },
    '/v1/models/{owner}/{name}': {
      get: replicate('Describe a model', '`latest_version.id` is the sha256 of its ONNX file.', {
        parameters: [owner, modelName],
        responses: {
          '200': { description: 'The model.', content: jsonOf('ReplicateModel') },
          ...frontDoorErrors('ReplicateError'),
        },
      }),
    },
    '/v1/webhooks/default/secret': {
      get: replicate('Read the webhook signing secret', 'Only to one of API_KEYS (403 on an open API).', {
        responses: {
          '200': { description: 'The secret.', content: jsonOf('ReplicateWebhookSecret') },
          ...frontDoorErrors('ReplicateError'),
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
          responses: {
            '201': { description: 'Stored.', content: jsonOf('ReplicateFile') },
            ...frontDoorErrors('ReplicateError'),
          },
        },
      ),
    },
    '/v1/files/{id}': {
      get: replicate('Read a file', 'Its metadata.', {
        parameters: [fileId],
        responses: {
          '200': { description: 'The file.', content: jsonOf('ReplicateFile') },
          ...frontDoorErrors('ReplicateError'),
        },
      }),
      delete: replicate('Delete a file', 'At once.', {
        parameters: [fileId],
        responses: { '204': { description: 'Deleted.' }, ...frontDoorErrors('ReplicateError') },
      }),
    },
    '/v1/files/{id}/download': {
      get: replicate('Download a file', 'Its bytes.', {
        parameters: [fileId],
        responses: {
          '200': { description: 'The bytes.', content: { 'image/*': {} } },
          ...frontDoorErrors('ReplicateError'),
        },
      }),
    },
  };
}
