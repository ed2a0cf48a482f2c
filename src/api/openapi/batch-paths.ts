import type { ErrorCode } from '../../errors.js';
import { TopkSchema } from '../../queue/job-schemas.js';
import { BatchFormSchema, BatchIdSchema, SubmitHeadersSchema, SubmitQuerySchema, WaitQuerySchema } from '../wire.js';
import { clientCodes, clientSecurity, errorResponses, uploadCodes } from './error-responses.js';
import type { Parameter, Paths } from './openapi-document.js';
import { fragment, jsonOf, parametersOf } from './schema-fragments.js';

/** A bad image fails only its own entry (with its code in the results), never the whole upload. */
const imageCodes: readonly ErrorCode[] = [
  'empty_image',
  'invalid_image',
  'unsupported_format',
  'corrupt_image',
  'image_too_large',
];
const batchCodes = uploadCodes.filter((code) => !imageCodes.includes(code));

const batchLocation = { Location: { description: 'The batch: `/batches/{id}`.', schema: { type: 'string' } } };

/** /batches: submit many images at once, follow their progress, read their results. */
export function batchPaths(): Paths {
  const batchId: Parameter = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The batch ID returned by POST /batches.',
    schema: fragment(BatchIdSchema, 'input'),
  };
  const [model, priority, webhook] = parametersOf(
    SubmitQuerySchema.pick({ model: true, priority: true, webhook: true }),
    'query',
  );
  return {
    '/batches': {
      post: {
        tags: ['batches'],
        summary: 'Submit many images as one batch',
        description:
          'A multipart body with one `image` part per image (at most MAX_BATCH_IMAGES), ' +
          'read part by part as it arrives. Each image becomes a job of the batch; a bad image (the usual codes: ' +
          '`invalid_image`, `payload_too_large`…) fails only its own entry. Its images run as `bulk` work unless ' +
          '`priority` says otherwise. Options may be query parameters or text fields anywhere in the body.',
        parameters: [
          {
            name: 'topk',
            in: 'query',
            required: false,
            description: "How many classes to return per image (default: the model manifest's, 5).",
            schema: fragment(TopkSchema, 'input'),
          },
          {
            ...model!,
            description:
              'The model every image of the batch is classified with (default DEFAULT_MODEL, else the first); ' +
              'as a text field it must come before the first image part. Unknown: 404 `unknown_model`.',
          },
          priority!,
          webhook!,
          ...parametersOf(SubmitHeadersSchema.pick({ 'Idempotency-Key': true }), 'header'),
        ],
        security: clientSecurity,
        requestBody: {
          required: true,
          description: 'The images, as `image` parts, and optional text fields.',
          content: { 'multipart/form-data': { schema: fragment(BatchFormSchema, 'input') } },
        },
        responses: {
          '202': {
            description: 'Accepted: its images are queued (with SUBMIT_DURABLE_REPLICAS, once the replicas hold them).',
            headers: batchLocation,
            content: jsonOf('BatchSubmitted'),
          },
          ...errorResponses('Error', batchCodes),
        },
      },
    },
    '/batches/{id}': {
      get: {
        tags: ['batches'],
        summary: "Read a batch's progress",
        parameters: [batchId],
        security: clientSecurity,
        responses: {
          '200': { description: 'The batch, in whatever state it is.', content: jsonOf('BatchView') },
          ...errorResponses('Error', [...clientCodes, 'not_found']),
        },
      },
    },
    '/batches/{id}/wait': {
      get: {
        tags: ['batches'],
        summary: 'Long-poll a batch until all its images have finished',
        description:
          'Answers as soon as the batch is completed, or with 202 and its current progress when the timeout passes ' +
          'first.',
        parameters: [batchId, ...parametersOf(WaitQuerySchema, 'query')],
        security: clientSecurity,
        responses: {
          '200': { description: 'Every image has completed or failed.', content: jsonOf('BatchView') },
          '202': {
            description: 'Not finished yet: call wait again.',
            headers: batchLocation,
            content: jsonOf('BatchView'),
          },
          ...errorResponses('Error', [...clientCodes, 'invalid_request', 'not_found']),
        },
      },
    },
    '/batches/{id}/results': {
      get: {
        tags: ['batches'],
        summary: "Each image's result or error, as NDJSON in upload order",
        description:
          'One JSON object (BatchEntry) per line, per image, in upload order, with its filename. ' +
          'Images not finished yet carry their current status.',
        parameters: [batchId],
        security: clientSecurity,
        responses: {
          '200': {
            description: 'Newline-delimited JSON: one BatchEntry per line.',
            content: { 'application/x-ndjson': { schema: { type: 'string' } } },
          },
          ...errorResponses('Error', [...clientCodes, 'not_found']),
        },
      },
    },
  };
}
