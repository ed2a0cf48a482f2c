import { z } from 'zod';
import {
  ImageJsonSchema,
  InstancesJsonSchema,
  JobPathSchema,
  SubmitFieldsSchema,
  SubmitHeadersSchema,
  SubmitQuerySchema,
  UploadFormSchema,
  WaitQuerySchema,
} from '../wire.js';
import { clientCodes, clientSecurity, errorResponses, uploadCodes } from './error-responses.js';
import type { Paths } from './openapi-document.js';
import { fragment, jsonOf, parametersOf } from './schema-fragments.js';
import { uploadBody } from './upload-body.js';

const locationHeader = { Location: { description: 'The job: `/jobs/{id}`.', schema: { type: 'string' } } };
const serverTiming = (what: string) => ({
  'Server-Timing': { description: `Where the time went, ms: ${what}.`, schema: { type: 'string' } },
});
const submitTiming = serverTiming(
  '`upload` (reading the body), `preprocess` (decode, resize, crop), `enqueue` (storing the crop and adding the job)',
);
const eventTiming = serverTiming(
  '`event`, from the worker finishing the job to this API holding its result, when the wait saw it finish',
);

/** POST /jobs's bodies: the image and, optionally, its options as multipart fields or JSON properties beside it. */
function jobUpload() {
  const options = SubmitFieldsSchema.shape;
  return {
    ...uploadBody,
    description:
      `${uploadBody.description} Multipart fields or JSON properties \`model\`, \`priority\` and \`webhook\` ` +
      'may come beside the image (or as query parameters).',
    content: {
      ...uploadBody.content,
      'multipart/form-data': { schema: fragment(UploadFormSchema.extend(options), 'input') },
      'application/json': {
        schema: fragment(z.union([ImageJsonSchema.extend(options), InstancesJsonSchema.extend(options)]), 'input'),
      },
    },
  };
}

/** /jobs: submit, read, cancel, long-poll and follow a job. */
export function jobPaths(): Paths {
  const jobId = parametersOf(JobPathSchema, 'path');
  return {
    '/jobs': {
      post: {
        tags: ['jobs'],
        summary: 'Submit an image for classification',
        description:
          'Answers 202 with the queued job. With `Prefer: wait=S`, waits up to S seconds (capped at ' +
          'WAIT_MAX_SECONDS) and answers 200 with the finished job, or 202 if it did not finish in time.',
        parameters: [...parametersOf(SubmitQuerySchema, 'query'), ...parametersOf(SubmitHeadersSchema, 'header')],
        security: clientSecurity,
        requestBody: jobUpload(),
        responses: {
          '200': {
            description: 'Finished within `Prefer: wait`.',
            headers: {
              'Preference-Applied': { description: 'The wait applied, `wait=S`.', schema: { type: 'string' } },
              ...submitTiming,
              ...eventTiming,
            },
            content: jsonOf('JobView'),
          },
          '202': {
            description: 'Queued.',
            headers: { ...locationHeader, ...submitTiming },
            content: jsonOf('JobView'),
          },
          ...errorResponses('Error', uploadCodes),
        },
      },
    },
    '/jobs/{id}': {
      get: {
        tags: ['jobs'],
        summary: 'Read a job',
        parameters: jobId,
        security: clientSecurity,
        responses: {
          '200': { description: 'The job, in whatever state it is.', content: jsonOf('JobView') },
          ...errorResponses('Error', [...clientCodes, 'not_found']),
        },
      },
      delete: {
        tags: ['jobs'],
        summary: 'Cancel a queued job',
        description:
          'A queued job is removed and reads afterwards as failed with code `cancelled`. ' +
          'An active or finished job cannot be cancelled (409).',
        parameters: jobId,
        security: clientSecurity,
        responses: {
          '200': { description: "Cancelled: the job's final view.", content: jsonOf('JobView') },
          ...errorResponses('Error', [...clientCodes, 'not_found', 'not_cancellable']),
        },
      },
    },
    '/jobs/{id}/wait': {
      get: {
        tags: ['jobs'],
        summary: 'Long-poll a job until it finishes',
        description:
          'Answers as soon as the job is completed or failed, or with 202 and its current state when the timeout ' +
          'passes first.',
        parameters: [...jobId, ...parametersOf(WaitQuerySchema, 'query')],
        security: clientSecurity,
        responses: {
          '200': { description: 'The job is completed or failed.', headers: eventTiming, content: jsonOf('JobView') },
          '202': {
            description: 'Not finished yet: call wait again.',
            headers: locationHeader,
            content: jsonOf('JobView'),
          },
          ...errorResponses('Error', [...clientCodes, 'invalid_request', 'not_found']),
        },
      },
    },
    '/jobs/{id}/events': {
      get: {
        tags: ['jobs'],
        summary: 'Follow a job as Server-Sent Events',
        description:
          "A `text/event-stream` of the job's progress: `queued`, `active` when a worker starts it, " +
          "then `completed` or `failed`; each event's `data` is the job's view (JSON, as GET /jobs/{id} answers; " +
          'see JobEvent). The current state is sent at once, later ones as they happen (no polling), ' +
          'and the stream ends after the terminal event; a browser EventSource should close() then, or it ' +
          'reconnects and receives the terminal event again. A `: heartbeat` comment is sent every 15 seconds, ' +
          'and the job is read again as often: a job that vanished (expired, cleaned, or lost with a Redis that ' +
          'keeps no data) ends the stream with a `not_found` event whose `data` is the error body. ' +
          'One request, however long the job takes, so following a job never counts against RATE_LIMIT_PER_MINUTE ' +
          'more than once. An unknown job answers 404 before any event.',
        parameters: [...jobId],
        security: clientSecurity,
        responses: {
          '200': {
            description: 'The event stream (see JobEvent).',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...errorResponses('Error', [...clientCodes, 'not_found']),
        },
      },
    },
  };
}
