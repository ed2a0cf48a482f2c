import { z } from 'zod';
import { errorTable, type ErrorCode } from '../../errors.js';
import { PredictionSchema as ClassSchema } from '../../model/prediction.js';
import { TopkSchema } from '../../queue/job-schemas.js';

/**
 * The wire contract of the Replicate-compatible front door (/v1), as the official `replicate`
 * clients send and read it: routes parse and build with these, the OpenAPI document is made of
 * them.
 */

const errorCodes = Object.keys(errorTable) as [ErrorCode, ...ErrorCode[]];

/**
 * Replicate's error body (RFC 9457 problem details): the SDK's ApiError carries the status and
 * this text; `code` is this service's stable code.
 */
export const ReplicateErrorSchema = z.object({
  title: z.string(),
  detail: z.string(),
  status: z.number().int(),
  code: z.enum(errorCodes),
});
export type ReplicateError = z.infer<typeof ReplicateErrorSchema>;

/** The model's inputs: the image and how many classes to return. Anything else is refused, by name. */
export const PredictionInputSchema = z.strictObject({
  image: z
    .string()
    .min(1)
    .meta({
      description:
        'A data URI (`data:image/jpeg;base64,…`), the `urls.get` of a file uploaded with POST /v1/files, or an ' +
        'http(s) URL the service fetches through the webhook address guard (public addresses only, unless the ' +
        'host is in WEBHOOK_ALLOW_HOSTS), within MAX_UPLOAD_BYTES and WEBHOOK_TIMEOUT_MS.',
    }),
  topk: TopkSchema.optional().meta({ description: "How many classes to return (default: the model manifest's)." }),
});

/** Which webhook events are sent: `start` and `completed` fire; `output` and `logs` are accepted and never do. */
export const WebhookEventSchema = z.enum(['start', 'output', 'logs', 'completed']);

/** Body of POST /v1/models/{owner}/{name}/predictions. */
export const ModelPredictionRequestSchema = z.object({
  input: PredictionInputSchema,
  webhook: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .meta({
      description:
        'Where to POST the prediction on each event, signed per Standard Webhooks (WEBHOOK_SECRET); the same ' +
        'address rules as `webhook` on POST /jobs.',
    }),
  webhook_events_filter: z
    .array(WebhookEventSchema)
    .optional()
    .meta({ description: 'The events to send (default: all). `output` and `logs` never fire here.' }),
  stream: z.boolean().optional().meta({ description: 'Accepted; `urls.stream` is always given.' }),
});

/** Body of POST /v1/predictions: the same, plus the model as `version`. */
export const PredictionRequestSchema = ModelPredictionRequestSchema.extend({
  version: z
    .string()
    .min(1)
    .max(200)
    .meta({
      description:
        "A served model's name, `owner/name` (any owner, e.g. `local`), or the sha256 of its ONNX file " +
        '(`latest_version.id` of GET /v1/models/{owner}/{name}).',
    }),
});

/** Replicate's prediction states: `starting` is queued here. */
export const PredictionStatusSchema = z.enum(['starting', 'processing', 'succeeded', 'failed', 'canceled']);
export type PredictionStatus = z.infer<typeof PredictionStatusSchema>;

export const ReplicatePredictionSchema = z.object({
  id: z.string(),
  model: z.string().meta({ description: '`local/<model name>`.' }),
  version: z.string().meta({ description: "The sha256 of the model's ONNX file (its name if unreadable here)." }),
  input: z
    .object({ image: z.string(), topk: z.number().int().optional() })
    .meta({ description: 'What was sent, the image replaced by a short description: it is never echoed.' }),
  output: z.array(ClassSchema).nullable().meta({ description: 'The top-k classes once succeeded.' }),
  error: z.string().nullable(),
  logs: z.string(),
  status: PredictionStatusSchema,
  source: z.literal('api'),
  data_removed: z.boolean(),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime().nullable(),
  completed_at: z.iso.datetime().nullable(),
  metrics: z.object({ predict_time: z.number().nonnegative().optional() }),
  urls: z.object({
    get: z.url(),
    cancel: z.url(),
    stream: z.url().meta({ description: "Server-Sent Events in Replicate's shape: `output`, `error`, `done`." }),
  }),
});
export type ReplicatePrediction = z.infer<typeof ReplicatePredictionSchema>;

/** One page of a Replicate list, newest first; `next` is the absolute URL of the next page. */
const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ previous: z.url().nullable(), next: z.url().nullable(), results: z.array(item) });

/** One page of GET /v1/predictions. */
export const PredictionPageSchema = pageOf(ReplicatePredictionSchema);

/** Query of GET /v1/predictions. */
export const PredictionListQuerySchema = z.object({
  cursor: z
    .string()
    .regex(/^\d{13}:[0-9a-f-]{36}$/)
    .optional()
    .meta({ description: 'Where the page starts: taken from `next`.' }),
});

/** A file uploaded with POST /v1/files. */
export const ReplicateFileSchema = z.object({
  id: z.string(),
  name: z.string(),
  content_type: z.string(),
  size: z.number().int().nonnegative(),
  etag: z.string(),
  checksums: z.object({ sha256: z.string() }),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  urls: z.object({ get: z.url().meta({ description: 'Pass this as `input.image`: it is read locally.' }) }),
});
export type ReplicateFile = z.infer<typeof ReplicateFileSchema>;

/** One page of GET /v1/files. */
export const FilePageSchema = pageOf(ReplicateFileSchema);

/** A served model as Replicate describes a model; `latest_version.id` is the sha256 of its ONNX file. */
export const ReplicateModelSchema = z.object({
  url: z.url(),
  owner: z.string(),
  name: z.string(),
  description: z.string(),
  visibility: z.literal('public'),
  github_url: z.null(),
  paper_url: z.null(),
  license_url: z.null(),
  run_count: z.number().int(),
  cover_image_url: z.null(),
  default_example: z.null(),
  latest_version: z
    .object({
      id: z.string(),
      created_at: z.iso.datetime(),
      cog_version: z.null(),
      openapi_schema: z.record(z.string(), z.unknown()),
    })
    .nullable(),
});

export const WebhookSecretSchema = z.object({
  key: z.string().meta({ description: 'WEBHOOK_SECRET (`whsec_…`), for validateWebhook.' }),
});
