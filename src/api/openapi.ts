import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../config.js';
import { errorTable, type ErrorCode } from '../errors.js';
import { dashboardPath } from './dashboard.js';
import {
  ErrorBodySchema,
  HealthSchema,
  ImageJsonBodySchema,
  ImageJsonSchema,
  InstancesJsonSchema,
  JobEventSchema,
  JobPathSchema,
  JobViewSchema,
  ModelNameSchema,
  ModelsSchema,
  PredictionSchema,
  PredictResponseSchema,
  ReadySchema,
  SubmitHeadersSchema,
  SubmitQuerySchema,
  TutorialErrorBodySchema,
  UploadFormSchema,
  WaitQuerySchema,
  BatchEntryViewSchema,
  BatchIdSchema,
  BatchViewSchema,
  WebhookUrlSchema,
} from './wire.js';
import { PrioritySchema, TopkSchema } from '../queue/job-schemas.js';
import { codeSamples, errorTableMarkdown, type CodeSample } from './openapi-examples.js';
import { dropInPaths, dropInSchemas, dropInTags } from './openapi-drop-in.js';

type JsonSchema = Record<string, unknown>;
type Content = Record<string, { schema?: JsonSchema }>;
interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Content;
}
interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required: boolean;
  description: string;
  schema: JsonSchema;
}
export interface Operation {
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; description: string; content: Content };
  responses: Record<string, Response>;
  security?: Record<string, string[]>[];
  /** Request examples, shown by the reference page at /docs. */
  'x-codeSamples'?: CodeSample[];
}
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface OpenApiDocument {
  openapi: '3.1.1';
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string; 'x-displayName'?: string; 'x-traitTag'?: boolean }[];
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
  /** What this service POSTs to a submission's `webhook` URL (OpenAPI 3.1 webhooks). */
  webhooks: Record<string, { post: Operation }>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

/**
 * Version of the HTTP contract this document describes (not of the package): bump the major on
 * a breaking change to a path, parameter or response shape.
 */
/** The document's version is the package's: one number to bump per release. */
const packageVersion = (): string =>
  (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * A schema as part of this document: without its own $schema (the document's dialect applies)
 * or $id (zod sets it to the $ref URI, and an $id may not carry a fragment).
 */
function embedded(schema: JsonSchema): JsonSchema {
  const copy = { ...schema };
  delete copy['$schema'];
  delete copy['$id'];
  return copy;
}

/** JSON Schema of one zod schema, as a fragment of this document. */
const fragment = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => embedded(z.toJSONSchema(schema, { io }));

/**
 * The parameters of one wire schema (an object of query fields, headers or path segments):
 * name, requiredness, description and schema all come from the zod schema the route parses with.
 */
function parametersOf(schema: z.ZodObject, where: Parameter['in']): Parameter[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...rest } = fragment(field as z.ZodType, 'input');
    const required = where === 'path' || !(field as z.ZodType).safeParse(undefined).success;
    return { name, in: where, required, description: typeof description === 'string' ? description : '', schema: rest };
  });
}

/**
 * The response shapes, converted once from the very schemas the routes build their bodies from.
 * Registered schemas nested in another (Prediction inside JobView) become $refs.
 */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string; description: string }>();
  registry.add(JobViewSchema, {
    id: 'JobView',
    description: 'A job: its status, timestamps, and its result or error once finished.',
  });
  registry.add(PredictionSchema, {
    id: 'Prediction',
    description: 'One class: label, ImageNet class index, softmax probability.',
  });
  registry.add(PredictResponseSchema, { id: 'PredictResponse', description: "The Flask tutorial's success body." });
  registry.add(ErrorBodySchema, { id: 'Error', description: 'Every error response except those of POST /predict.' });
  registry.add(TutorialErrorBodySchema, {
    id: 'TutorialError',
    description: "POST /predict's error body, in the tutorial's shape.",
  });
  registry.add(ModelsSchema, {
    id: 'Models',
    description: 'The served models: their input, classes, and live workers.',
  });
  registry.add(HealthSchema, { id: 'Health', description: 'Liveness.' });
  registry.add(ReadySchema, { id: 'Ready', description: 'Readiness.' });
  registry.add(JobEventSchema, {
    id: 'JobEvent',
    description: 'One Server-Sent Event of GET /jobs/{id}/events, as its `event:` name and its `data:` (JSON).',
  });
  registry.add(BatchViewSchema, {
    id: 'BatchView',
    description: 'A batch: how many of its images have finished, and links to wait for it and read its results.',
  });
  registry.add(BatchSubmittedSchema, { id: 'BatchSubmitted', description: 'The answer to POST /batches.' });
  registry.add(BatchEntryViewSchema, {
    id: 'BatchEntry',
    description: "One line of a batch's NDJSON results: an image in upload order, with its result or error.",
  });
  registry.add(JobMessageSchema, {
    id: 'JobWebhookMessage',
    description: "The body POSTed to a job's webhook once it has completed or failed.",
  });
  registry.add(BatchMessageSchema, {
    id: 'BatchWebhookMessage',
    description: "The body POSTed to a batch's webhook once all its images have finished.",
  });
  const { schemas } = z.toJSONSchema(registry, { io: 'output', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embedded(schema as JsonSchema)]));
}

export const BatchSubmittedSchema = BatchViewSchema.pick({ id: true, total: true, links: true });
/** Standard Webhooks' recommended envelope: an event type, when it was written, and the data. */
const JobMessageSchema = z.object({
  type: z.enum(['job.completed', 'job.failed']),
  timestamp: z.iso.datetime(),
  data: JobViewSchema,
});
const BatchMessageSchema = z.object({
  type: z.literal('batch.completed'),
  timestamp: z.iso.datetime(),
  data: BatchViewSchema,
});

const ref = (id: string): JsonSchema => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string): Content => ({ 'application/json': { schema: ref(id) } });
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

/** One response per status among `codes`, each listing its codes from the error table. */
function errorResponses(schemaId: 'Error' | 'TutorialError', codes: readonly ErrorCode[]): Record<string, Response> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(errorTable[code].status, [...(byStatus.get(errorTable[code].status) ?? []), code]);
  const responses: Record<string, Response> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = list.map((code) => `\`${code}\`: ${errorTable[code].description}`).join(' ');
    responses[String(status)] = { description, content: json(schemaId) };
  }
  responses['default'] = {
    description:
      'Any other error (`not_found`, `method_not_allowed` with `Allow`, `internal`; `headers_too_large`, 431, ' +
      'always in the `Error` shape since it is answered before routing).',
    content: json(schemaId),
  };
  return responses;
}

/** What every /jobs and /predict call may meet before its own work: API keys and the rate limit. */
const clientCodes = ['unauthorized', 'rate_limited', 'unavailable'] as const satisfies readonly ErrorCode[];

const uploadCodes = [
  ...clientCodes,
  'unknown_model',
  'no_worker',
  'queue_full',
  'redis_full',
  'missing_image',
  'empty_image',
  'invalid_image',
  'invalid_request',
  'payload_too_large',
  'unsupported_format',
  'corrupt_image',
  'image_too_large',
] as const satisfies readonly ErrorCode[];

/** Open API unless API_KEYS is set. */
const clientSecurity: Record<string, string[]>[] = [{}, { apiKey: [] }];

const upload = {
  required: true,
  description:
    'The image, recognised by its bytes (never by filename or declared type): the multipart field `image` ' +
    '(one part, filename and Content-Type optional, no other fields), the raw bytes under any Content-Type or ' +
    'none (Content-Length or chunked), or JSON `{"image": "<base64>"}` / TF Serving\'s ' +
    '`{"instances": [{"b64": "<base64>"}]}` (the size limit applies to the decoded bytes). ' +
    'JPEG, PNG, WebP, GIF, AVIF or TIFF (first frame or page).',
  content: {
    'multipart/form-data': { schema: fragment(UploadFormSchema, 'input') },
    'application/json': { schema: fragment(ImageJsonBodySchema, 'input') },
    'application/octet-stream': {},
    'image/*': {},
  },
};

const jobId = parametersOf(JobPathSchema, 'path');
const priorityParam: Parameter = parametersOf(SubmitQuerySchema.pick({ priority: true }), 'query')[0]!;
const webhookParam: Parameter = parametersOf(SubmitQuerySchema.pick({ webhook: true }), 'query')[0]!;
const modelParam: Parameter = parametersOf(SubmitQuerySchema.pick({ model: true }), 'query')[0]!;

/** POST /jobs's bodies: the image and, optionally, its options as multipart fields or JSON properties beside it. */
const jobOptionFields = {
  model: ModelNameSchema.optional(),
  priority: PrioritySchema.optional(),
  webhook: WebhookUrlSchema.optional(),
};
const jobUpload = {
  ...upload,
  description:
    `${upload.description} Multipart fields or JSON properties \`model\`, \`priority\` and \`webhook\` ` +
    'may come beside the image (or as query parameters).',
  content: {
    ...upload.content,
    'multipart/form-data': { schema: fragment(UploadFormSchema.extend(jobOptionFields), 'input') },
    'application/json': {
      schema: fragment(
        z.union([ImageJsonSchema.extend(jobOptionFields), InstancesJsonSchema.extend(jobOptionFields)]),
        'input',
      ),
    },
  },
};

/** POST /batches's multipart form: many `image` parts; text fields may come anywhere in the body. */
const BatchFormSchema = z.object({
  image: z.array(z.file()).min(1),
  /** Before the first image part: every image of a batch goes to one model. */
  model: ModelNameSchema.optional(),
  topk: TopkSchema.optional(),
  priority: PrioritySchema.optional(),
  webhook: WebhookUrlSchema.optional(),
});

const batchId: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The batch ID returned by POST /batches.',
  schema: fragment(BatchIdSchema, 'input'),
};
const batchLocation = { Location: { description: 'The batch: `/batches/{id}`.', schema: { type: 'string' } } };

/** The signed POST a webhook URL receives. */
function webhookOperation(summary: string, schemaId: string): { post: Operation } {
  const header = (name: string, description: string): Parameter => ({
    name,
    in: 'header',
    required: true,
    description,
    schema: { type: 'string' },
  });
  return {
    post: {
      tags: ['webhooks'],
      summary,
      description:
        'Sent from its own queue once the subject has finished. Any 2xx answer accepts it; anything else (or ' +
        'no answer within WEBHOOK_TIMEOUT_MS) is retried with exponential backoff from WEBHOOK_BACKOFF_MS, ' +
        'up to WEBHOOK_ATTEMPTS attempts, with the same webhook-id and body. Redirects are not followed.',
      parameters: [
        header('webhook-id', 'The message ID (`msg_<job or batch id>`), the same on every retry: deduplicate on it.'),
        header('webhook-timestamp', 'Seconds since the epoch when this attempt was signed.'),
        header(
          'webhook-signature',
          '`v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded ' +
            'part of WEBHOOK_SECRET (`whsec_…`).',
        ),
      ],
      requestBody: { required: true, description: 'The message.', content: json(schemaId) },
      responses: {
        '2XX': { description: 'Accepted: not delivered again.' },
        default: { description: 'Not accepted: retried.' },
      },
    },
  };
}

/** The OpenAPI 3.1 document of every route the router serves; a test keeps the two in step. */
export function buildOpenApiDocument(): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {
    '/jobs': {
      post: {
        tags: ['jobs'],
        summary: 'Submit an image for classification',
        description:
          'Answers 202 with the queued job. With `Prefer: wait=S`, waits up to S seconds (capped at ' +
          'WAIT_MAX_SECONDS) and answers 200 with the finished job, or 202 if it did not finish in time.',
        parameters: [...parametersOf(SubmitQuerySchema, 'query'), ...parametersOf(SubmitHeadersSchema, 'header')],
        security: clientSecurity,
        requestBody: jobUpload,
        responses: {
          '200': {
            description: 'Finished within `Prefer: wait`.',
            headers: {
              'Preference-Applied': { description: 'The wait applied, `wait=S`.', schema: { type: 'string' } },
              ...submitTiming,
              ...eventTiming,
            },
            content: json('JobView'),
          },
          '202': { description: 'Queued.', headers: { ...locationHeader, ...submitTiming }, content: json('JobView') },
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
          '200': { description: 'The job, in whatever state it is.', content: json('JobView') },
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
          '200': { description: "Cancelled: the job's final view.", content: json('JobView') },
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
          '200': { description: 'The job is completed or failed.', headers: eventTiming, content: json('JobView') },
          '202': {
            description: 'Not finished yet: call wait again.',
            headers: locationHeader,
            content: json('JobView'),
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
            ...modelParam,
            description:
              'The model every image of the batch is classified with (default DEFAULT_MODEL, else the first); ' +
              'as a text field it must come before the first image part. Unknown: 404 `unknown_model`.',
          },
          priorityParam,
          webhookParam,
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
            content: json('BatchSubmitted'),
          },
          ...errorResponses('Error', [
            ...clientCodes,
            'unknown_model',
            'no_worker',
            'queue_full',
            'redis_full',
            'missing_image',
            'invalid_request',
            'payload_too_large',
          ]),
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
          '200': { description: 'The batch, in whatever state it is.', content: json('BatchView') },
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
          '200': { description: 'Every image has completed or failed.', content: json('BatchView') },
          '202': {
            description: 'Not finished yet: call wait again.',
            headers: batchLocation,
            content: json('BatchView'),
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
    '/predict': {
      post: {
        tags: ['tutorial'],
        summary: "The Flask + Keras tutorial's endpoint, unchanged",
        description:
          'Submits through the same queue and waits up to PREDICT_TIMEOUT_SECONDS. Top 5, Keras labels. ' +
          "Errors use the tutorial's shape. `model` (query or multipart field) picks the model, as for POST /jobs.",
        parameters: [modelParam],
        requestBody: upload,
        security: clientSecurity,
        responses: {
          '200': { description: 'The top 5 classes.', content: json('PredictResponse') },
          ...errorResponses('TutorialError', [
            ...uploadCodes,
            'timeout',
            'expired',
            'input_missing',
            'inference_failed',
          ]),
        },
      },
    },
    '/models': {
      get: {
        tags: ['models'],
        summary: 'The served models',
        description:
          'Each model this service serves (MODEL_DIRS): its name (what `model` on submit names), precision, ' +
          'input size and tensor layout, number of classes, and how many live workers have it loaded.',
        security: clientSecurity,
        responses: {
          '200': { description: 'The models.', content: json('Models') },
          ...errorResponses('Error', clientCodes),
        },
      },
    },
    '/healthz': {
      get: {
        tags: ['operations'],
        summary: 'Liveness: the process answers (never touches Redis)',
        responses: { '200': { description: 'Alive.', content: json('Health') } },
      },
    },
    '/readyz': {
      get: {
        tags: ['operations'],
        summary: 'Readiness: Redis answers, and every served model has a live worker and a running queue',
        responses: {
          '200': { description: 'Ready.', content: json('Ready') },
          ...errorResponses('Error', ['unavailable', 'no_worker']),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['operations'],
        summary: 'Prometheus metrics of this API process',
        description:
          'HTTP requests by route pattern and status, queue depth by state (read from Redis at scrape time), ' +
          'process metrics. Open unless METRICS_TOKEN is set. Workers serve their own batch, inference and job ' +
          'metrics on WORKER_METRICS_PORT. The Bull Board dashboard (not described here) is at ' +
          `${dashboardPath} when credentials are configured.`,
        security: [{}, { metricsToken: [] }],
        responses: {
          '200': {
            description: 'Prometheus text exposition format 0.0.4.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses('Error', ['unauthorized']),
        },
      },
    },
    '/': {
      get: {
        tags: ['operations'],
        summary: 'The web page: upload an image and watch it being classified',
        responses: {
          '200': {
            description: 'HTML, with a strict Content-Security-Policy.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/app.js': {
      get: {
        tags: ['operations'],
        summary: "The web page's script",
        responses: {
          '200': { description: 'JavaScript.', content: { 'text/javascript': { schema: { type: 'string' } } } },
        },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['operations'],
        summary: 'This document',
        responses: {
          '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/favicon.svg': {
      get: {
        tags: ['operations'],
        summary: "The pages' icon",
        responses: { '200': { description: 'SVG.', content: { 'image/svg+xml': { schema: { type: 'string' } } } } },
      },
    },
    '/docs': {
      get: {
        tags: ['operations'],
        summary: 'This document as an API reference page (Redoc)',
        responses: {
          '200': {
            description: 'HTML that loads Redoc from this server and renders /openapi.json; nothing from elsewhere.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/docs/redoc.standalone.js': {
      get: {
        tags: ['operations'],
        summary: "Redoc's browser bundle, from its npm package",
        responses: {
          '200': { description: 'JavaScript.', content: { 'text/javascript': { schema: { type: 'string' } } } },
        },
      },
    },
  };
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const samples = codeSamples[`${method} ${path}`];
      if (samples) op['x-codeSamples'] = samples;
    }
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'resnet-queue',
      version: packageVersion(),
      description: [
        'Image classification (ResNet-50, ImageNet-1k, or any ONNX classifier; several at once) through a Redis ' +
          'job queue. Submit with POST /jobs, then poll GET /jobs/{id}, long-poll GET /jobs/{id}/wait or follow ' +
          "GET /jobs/{id}/events (Server-Sent Events); POST /predict is the Flask tutorial's synchronous call.",
        'With RATE_LIMIT_PER_MINUTE set, /jobs and /predict answers carry `RateLimit-Policy` and `RateLimit` ' +
          '(IETF draft: quota `q` per `w` seconds, `r` remaining, reset in `t` seconds).',
      ].join('\n\n'),
    },
    // In the order a user meets them; Redoc lists tags as given. The error table is a section of its
    // own at the end (`x-traitTag`: a description, no operations) rather than before the first route.
    tags: [
      { name: 'jobs', description: 'Asynchronous classification.' },
      { name: 'tutorial', 'x-displayName': 'predict', description: 'Drop-in for the Flask + Keras tutorial.' },
      { name: 'batches', description: 'Many images in one upload.' },
      { name: 'models', description: 'The models served, chosen with `model` on submit.' },
      { name: 'webhooks', description: "What this service sends to a submission's webhook URL." },
      ...dropInTags,
      { name: 'operations', description: 'Health, metrics, this documentation and the web page at /.' },
      {
        name: 'errors',
        'x-traitTag': true,
        description: [
          'Every error is `{"error": {"code", "message"}}` (POST /predict: `{"success": false, "error", "code"}`) ' +
            'with a stable code:',
          errorTableMarkdown(),
        ].join('\n\n'),
      },
    ],
    paths: { ...paths, ...dropInPaths() },
    webhooks: {
      jobFinished: webhookOperation('A job has completed or failed', 'JobWebhookMessage'),
      batchFinished: webhookOperation('Every image of a batch has finished', 'BatchWebhookMessage'),
    },
    components: {
      schemas: { ...componentSchemas(), ...dropInSchemas() },
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'One of API_KEYS, when set. Each job is visible only to the key that created it.',
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set.' },
      },
    },
  };
}
