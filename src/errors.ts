import { z } from 'zod';

/**
 * The one catalogue of error codes. `status` is what the API answers when the error
 * ends a request; codes marked `job` are also what a failed job reports in `error.code`.
 * Codes are stable: clients may switch on them.
 */
export const errorTable = {
  missing_image: {
    status: 400,
    description:
      'No image in the request: send a multipart field "image", the raw bytes as the body, ' +
      'or JSON {"image": "<base64>"}.',
  },
  empty_image: { status: 400, description: 'The uploaded image has zero bytes.' },
  invalid_image: { status: 400, description: 'The upload is not a recognisable image.' },
  invalid_request: {
    status: 400,
    description:
      'A parameter, header or body is malformed (another field name, several files, extra fields, bad base64…); ' +
      'the message names it.',
  },
  unauthorized: {
    status: 401,
    description:
      'Missing or wrong credentials: an API key (Authorization: Bearer <key>), ' +
      'or operator credentials for the dashboard and metrics; see WWW-Authenticate.',
  },
  forbidden: {
    status: 403,
    description:
      'A cross-site request to an operator endpoint (its Origin or Sec-Fetch-Site is another site): ' +
      "refused so that a page elsewhere cannot act with the browser's saved credentials.",
  },
  not_found: { status: 404, description: 'No such job or route (job results expire after their TTL).' },
  unknown_model: {
    status: 404,
    description: 'The `model` named on submit is not one this service serves (GET /models lists them).',
  },
  method_not_allowed: {
    status: 405,
    description: 'The route exists but not for this HTTP method (or the method is unknown); see Allow.',
  },
  not_cancellable: { status: 409, description: 'The job is already active or finished and cannot be cancelled.' },
  payload_too_large: {
    status: 413,
    description: 'The upload (decoded, for base64 in JSON) exceeds MAX_UPLOAD_BYTES, with or without a Content-Length.',
  },
  unsupported_format: {
    status: 415,
    description:
      'The image format is not accepted (JPEG, PNG, WebP, GIF, AVIF and TIFF are; BMP, HEIC, SVG, ' +
      'PDF and others are not).',
  },
  corrupt_image: {
    status: 422,
    description: 'The image header was read but the pixels could not be decoded (truncated or damaged file).',
  },
  image_too_large: {
    status: 422,
    description: 'The image has more pixels than MAX_IMAGE_PIXELS (decompression-bomb guard).',
  },
  queue_full: { status: 429, description: 'The queue holds MAX_QUEUE_DEPTH jobs; retry after the Retry-After delay.' },
  rate_limited: {
    status: 429,
    description:
      'This client exceeded RATE_LIMIT_PER_MINUTE, or AUTH_FAILURES_PER_HOUR failed authentication attempts; ' +
      'retry after the Retry-After delay.',
  },
  expectation_failed: {
    status: 417,
    description: 'The request carries an Expect header other than 100-continue, which the server cannot meet.',
  },
  headers_too_large: { status: 431, description: 'The request headers exceed the server limit (16 KiB).' },
  internal: { status: 500, description: 'An unexpected error; details are logged, never sent.' },
  unavailable: {
    status: 503,
    description:
      'Redis is unreachable (or a durable submit was not replicated in time), ' +
      'or MAX_CONCURRENT_UPLOADS / UPLOAD_BUFFER_BYTES of uploads are being received ' +
      '(decided before the body is read); retry after the Retry-After delay.',
  },
  redis_full: {
    status: 503,
    description:
      'Redis holds 90% of its maxmemory: new work is refused (before the body is read) until the workers ' +
      'drain what was accepted; retry after the Retry-After delay.',
  },
  no_worker: {
    status: 503,
    description:
      'No worker with the chosen model loaded is running, so the job could not be run; ' +
      'retry after the Retry-After delay.',
  },
  timeout: { status: 504, description: 'The job did not finish within the synchronous wait.' },
  input_missing: {
    status: 500,
    description: 'Job: its preprocessed input expired or was deleted before a worker ran it.',
  },
  expired: { status: 410, description: 'Job: its deadline passed before a worker started it, so it was not run.' },
  cancelled: { status: 410, description: 'Job: cancelled by its client (DELETE /jobs/:id) before it started.' },
  inference_failed: { status: 500, description: 'Job: the model failed on the batch this job ran in.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof errorTable;

const errorCodes = Object.keys(errorTable) as [ErrorCode, ...ErrorCode[]];

/** The body of every error response: `{"error": {"code", "message"}}`. */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.enum(errorCodes), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The Flask tutorial's error shape, which POST /predict keeps: `{"success": false, "error", "code"}`. */
export const TutorialErrorBodySchema = z.object({
  success: z.literal(false),
  error: z.string(),
  code: z.enum(errorCodes),
});
export type TutorialErrorBody = z.infer<typeof TutorialErrorBodySchema>;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorTable, code);
}

/**
 * An error with a code from the table. Its message reaches the client only when `expose` is true,
 * which is the default for 4xx (Koa's rule): a 5xx answers the table's generic text unless the
 * thrower says its message was written for clients and carries nothing internal.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly expose: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string = errorTable[code].description,
    headers: Record<string, string> = {},
    options: { expose?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = errorTable[code].status;
    this.headers = headers;
    this.expose = options.expose ?? this.status < 500;
  }
}

/**
 * Seconds a client is told to wait (Retry-After) before retrying a refusal that clears by itself:
 * Redis back, a worker up, room in the queue.
 */
export const retryAfterSeconds = 5;

export interface RetryLaterOptions {
  /** The Retry-After delay, seconds. Default `retryAfterSeconds`. */
  retryAfterSeconds?: number;
  /** Headers beside Retry-After (a Location to follow meanwhile). */
  headers?: Record<string, string>;
  /** Whether a 5xx message reaches the client (see AppError). */
  expose?: boolean;
  cause?: unknown;
}

/** A refusal the client should retry: the code's status with a Retry-After header. */
export function retryLater(code: ErrorCode, message: string, options: RetryLaterOptions = {}): AppError {
  const { retryAfterSeconds: seconds = retryAfterSeconds, headers, ...rest } = options;
  return new AppError(code, message, { 'Retry-After': String(seconds), ...headers }, rest);
}

/** 503 `unavailable` with Retry-After: Redis unreachable, uploads at their cap, a submit not yet replicated. */
export function unavailable(message: string, options?: RetryLaterOptions): AppError {
  return retryLater('unavailable', message, options);
}

/** 503 `unavailable` for a Redis call of a request that failed; `what` names the operation (`read`, `batch`). */
export function storeUnavailable(what: string, cause?: unknown): AppError {
  return unavailable(`the job store is unavailable (${what}); retry shortly`, { cause });
}

/** 429 `queue_full`: the queue holds `max` (MAX_QUEUE_DEPTH) unfinished jobs; `detail` follows that. */
export function queueFull(max: number, detail = ''): AppError {
  return retryLater('queue_full', `the queue holds ${max} unfinished jobs${detail}; retry shortly`);
}

/** 404 `not_found` for a job, batch or prediction `id` this caller cannot see. */
export function notFound(what: 'job' | 'batch' | 'prediction', id: string): AppError {
  return new AppError('not_found', `no ${what} ${id} (unknown, malformed or expired)`);
}

/** 413 `payload_too_large` for an upload over MAX_UPLOAD_BYTES (`maxBytes`). */
export function uploadTooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', `the upload exceeds the limit of ${maxBytes} bytes`);
}
