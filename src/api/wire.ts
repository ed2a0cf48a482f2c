import { z } from 'zod';
import { precisions } from '../model/precision.js';
import { PredictionSchema } from '../model/prediction.js';
import { JobIdSchema, PrioritySchema, TopkSchema } from '../queue/job-schemas.js';

/**
 * The HTTP contract, as zod schemas: what requests may carry and what responses look like.
 * Routes parse and build with these, the OpenAPI document is generated from them, and the CLI
 * and tests read responses with them. Descriptions (`.meta`) become the document's.
 */

export { ErrorBodySchema, TutorialErrorBodySchema, type ErrorBody, type TutorialErrorBody } from '../errors.js';
export { PredictionSchema, type Prediction } from '../model/prediction.js';

// ---- Requests

/** Path parameter of every /jobs/{id} route. */
export const JobPathSchema = z.object({ id: JobIdSchema.meta({ description: 'The job ID returned at submission.' }) });

/** `webhook`: where to POST the finished job or batch. */
export const WebhookUrlSchema = z.string().min(1).max(2048);

/** `model`: which served model classifies the image (GET /models lists them). */
export const ModelNameSchema = z.string().min(1).max(64);

/** Query of POST /jobs. */
export const SubmitQuerySchema = z.object({
  model: ModelNameSchema.optional().meta({
    description:
      'The model to classify with, by name (GET /models lists them; default DEFAULT_MODEL, else the first of ' +
      'MODEL_DIRS); an unknown one answers 404 `unknown_model`. Also accepted as a multipart field.',
  }),
  topk: TopkSchema.optional().meta({ description: "How many classes to return (default: the model manifest's, 5)." }),
  deadline: z.coerce
    .number()
    .int()
    .min(1)
    .max(30 * 86400)
    .optional()
    .meta({
      description:
        'Seconds from now after which the job must not start; it then fails with `expired` (default ' +
        'DEFAULT_DEADLINE_SECONDS, 0 = none).',
    }),
  priority: PrioritySchema.optional().meta({
    description:
      '`interactive` (someone is waiting; the default of POST /jobs) or `bulk` (background work that runs after ' +
      'every queued interactive job; the default of POST /batches). Also accepted as a multipart field.',
  }),
  webhook: WebhookUrlSchema.optional().meta({
    description:
      'A URL to POST the finished job to, signed per Standard Webhooks (headers `webhook-id`, ' +
      '`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` with WEBHOOK_SECRET); ' +
      'retried with exponential backoff (WEBHOOK_ATTEMPTS, default 6) under the same `webhook-id`. ' +
      'https only, and only hosts resolving to public addresses unless the host is in WEBHOOK_ALLOW_HOSTS (which ' +
      'also permits http); anything else answers 400. Also accepted as a multipart field.',
  }),
});

/** Headers of POST /jobs that change its behaviour. */
export const SubmitHeadersSchema = z.object({
  Prefer: z
    .string()
    .optional()
    .meta({ description: '`wait=S` (RFC 7240): wait up to S seconds (capped at WAIT_MAX_SECONDS) for the result.' }),
  'Idempotency-Key': z
    .string()
    .optional()
    .meta({
      description:
        'The same key from the same client within RESULT_TTL_SECONDS returns the first job (with ' +
        '`Idempotent-Replayed: true`) instead of creating another. Keys are scoped to the caller: its API key, or ' +
        "its address (honouring TRUST_PROXY) when the API is open, so another caller's key never returns their job.",
    }),
});

/** How long a long-poll waits when ?timeout= is absent, seconds. */
export const defaultWaitSeconds = 30;

/** Query of GET /jobs/{id}/wait. */
export const WaitQuerySchema = z.object({
  timeout: z.coerce
    .number()
    .min(0)
    .optional()
    .meta({ description: 'Seconds to wait (default 30, capped at WAIT_MAX_SECONDS).' }),
});

/** The multipart form of an upload: one part, named `image` (filename and Content-Type optional), nothing else. */
export const UploadFormSchema = z.strictObject({ image: z.file() });

/** `{"image": "<base64>"}`: a data: URL prefix is allowed, as browsers' FileReader produces it. */
export const ImageJsonSchema = z.strictObject({
  image: z.string().describe('The image file, base64 (standard or URL-safe alphabet; a data: URL prefix is allowed).'),
});
/** TF Serving's REST shape for binary inputs: one instance, `{"b64": "<base64>"}`. */
export const InstancesJsonSchema = z.strictObject({
  instances: z
    .array(z.strictObject({ b64: z.string().describe('The image file, base64.') }))
    .length(1, 'send exactly one instance'),
});
/** The JSON request bodies /jobs and /predict accept; the upload limit applies to the decoded bytes. */
export const ImageJsonBodySchema = z.union([ImageJsonSchema, InstancesJsonSchema]);

/**
 * The options POST /jobs also takes beside the image, as multipart fields or JSON properties (each
 * is read on its own, the query parameter first; see submit-options.ts).
 */
export const SubmitFieldsSchema = z.object({
  model: ModelNameSchema.optional(),
  priority: PrioritySchema.optional(),
  webhook: WebhookUrlSchema.optional(),
});

// ---- Responses

export const JobStatusSchema = z.enum(['queued', 'active', 'completed', 'failed']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** The representation of a job that every /jobs endpoint returns. */
export const JobViewSchema = z.object({
  id: z.string(),
  status: JobStatusSchema,
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  /** How many images shared the forward pass this job ran in. */
  batchSize: z.number().int().positive().optional(),
  result: z
    .object({
      model: z.string(),
      precision: z.enum(precisions).optional(),
      predictions: z.array(PredictionSchema),
      logits: z
        .array(z.number())
        .optional()
        .meta({ description: "The model's whole output, for jobs submitted through POST /v2/models/{m}/infer only." }),
    })
    .optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  links: z.object({ self: z.string(), wait: z.string() }),
});
export type JobView = z.infer<typeof JobViewSchema>;

/**
 * One Server-Sent Event of GET /jobs/{id}/events: `event:` is the job's status, `data:` its view
 * as JSON on one line.
 */
export const JobEventSchema = z.object({
  event: JobStatusSchema.meta({ description: 'The SSE event name: the status the job has just reached.' }),
  data: JobViewSchema,
});

export const isTerminal = (status: JobStatus): boolean => status === 'completed' || status === 'failed';

/** The Flask tutorial's response to POST /predict, unchanged, so its clients work as they are. */
export const PredictResponseSchema = z.object({
  success: z.literal(true),
  predictions: z.array(z.object({ label: z.string(), probability: z.number() })),
});

export const HealthSchema = z.object({ status: z.literal('ok') });

/** A served model's readiness: `ready` (a live worker, queue running), `no_worker`, or `paused` (Bull Board). */
export const ModelReadinessSchema = z.object({
  name: z.string(),
  state: z.enum(['ready', 'no_worker', 'paused']),
  workers: z.number().int().nonnegative(),
});
export type ModelReadiness = z.infer<typeof ModelReadinessSchema>;

export const ReadySchema = z.object({
  status: z.literal('ready'),
  /** Workers with the default model loaded connected to its queue. */
  workers: z.number().int().positive(),
  /** The default model. */
  model: z.string(),
  /** fp32 or int8: the manifest's, else read from the model file's graph; absent when this API host has neither. */
  precision: z.enum(precisions).optional(),
  /** Every served model's state; the API is ready only when each is `ready`. */
  models: z.array(ModelReadinessSchema),
});

/** One entry of GET /models. */
export const ModelViewSchema = z.object({
  name: z.string().meta({ description: 'What `model` on submit names, and every result reports.' }),
  precision: z.enum(precisions).optional().meta({
    description: "fp32 or int8: the manifest's, else read from the model file; absent when this API host has neither.",
  }),
  input: z.object({
    size: z
      .number()
      .int()
      .positive()
      .meta({ description: 'Side of the square input the image is cropped to, pixels.' }),
    layout: z.enum(['NCHW', 'NHWC']).meta({ description: 'Tensor layout of the model input.' }),
  }),
  classes: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({ description: 'Labels the model ranks; absent when this API host cannot read its labels file.' }),
  ready: z.boolean().meta({
    description:
      'At least one live worker has it loaded and its queue is not paused (else a submission answers 503 ' +
      '`no_worker`, or waits until the queue is resumed).',
  }),
  workers: z.number().int().nonnegative().meta({ description: 'Live workers with it loaded.' }),
  paused: z.boolean().meta({ description: 'Its queue is paused (from the dashboard): jobs are kept, none runs.' }),
});
export type ModelView = z.infer<typeof ModelViewSchema>;

/** What GET /models answers: every served model, the default first. */
export const ModelsSchema = z.object({
  models: z.array(ModelViewSchema),
  default: z.string().meta({ description: 'The model a submission without `model` uses.' }),
});

// ---- Batches

/** Batch IDs are random UUIDs, like job IDs. */
export const BatchIdSchema = z.uuid();

/**
 * `queued`: no image has finished yet; `active`: some have; `completed`: every image has (some may
 * have failed).
 */
export const BatchStatusSchema = JobStatusSchema.exclude(['failed']);

/** What GET /batches/:id answers. */
export const BatchViewSchema = z.object({
  id: z.string(),
  status: BatchStatusSchema,
  /** Images in the upload, rejected ones included. */
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  /** Rejected at upload (bad image) or failed in the queue. */
  failed: z.number().int().nonnegative(),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  links: z.object({ self: z.string(), wait: z.string(), results: z.string() }),
});
export type BatchView = z.infer<typeof BatchViewSchema>;

/** What POST /batches answers. */
export const BatchSubmittedSchema = BatchViewSchema.pick({ id: true, total: true, links: true });

/**
 * POST /batches's multipart form: many `image` parts; text fields may come anywhere in the body.
 * Read part by part as it streams in, so this describes the form rather than parses it.
 */
export const BatchFormSchema = z.object({
  image: z.array(z.file()).min(1),
  /** Before the first image part: every image of a batch goes to one model. */
  model: ModelNameSchema.optional(),
  topk: TopkSchema.optional(),
  priority: PrioritySchema.optional(),
  webhook: WebhookUrlSchema.optional(),
});

/** One line of GET /batches/:id/results: an image, in upload order. */
export const BatchEntryViewSchema = z.object({
  index: z.number().int().nonnegative(),
  filename: z.string(),
  /** The image's job, when it was accepted. */
  id: z.string().optional(),
  status: JobStatusSchema,
  result: JobViewSchema.shape.result,
  error: JobViewSchema.shape.error,
});
export type BatchEntryView = z.infer<typeof BatchEntryViewSchema>;

// ---- Webhook messages (Standard Webhooks' recommended envelope: an event type, when it was written, the data)

/** The body POSTed to a job's webhook once it has completed or failed. */
export const JobMessageSchema = z.object({
  type: z.enum(['job.completed', 'job.failed']),
  timestamp: z.iso.datetime(),
  data: JobViewSchema,
});
export type JobMessage = z.infer<typeof JobMessageSchema>;

/** The body POSTed to a batch's webhook once all its images have finished. */
export const BatchMessageSchema = z.object({
  type: z.literal('batch.completed'),
  timestamp: z.iso.datetime(),
  data: BatchViewSchema,
});
export type BatchMessage = z.infer<typeof BatchMessageSchema>;
