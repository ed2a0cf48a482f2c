import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Credentials } from './credentials.js';

/** Project root, so relative defaults do not depend on the working directory. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const sharedModels = path.resolve(projectRoot, '../shared/models');

/** The shared int8 model's directory when it holds a model, else the float32 one's. */
function defaultModelDir(): string {
  const int8 = path.join(sharedModels, 'resnet50-v1.5-int8');
  return existsSync(path.join(int8, 'model.onnx')) ? int8 : path.join(sharedModels, 'resnet50-v1.5');
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A comma-separated list, as every list variable is written: items trimmed, empty ones dropped. */
const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `host:port,host:port`: at least one, each port 1..65535. */
const hostPorts = z
  .string()
  .transform(commaList)
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^[^\s:,]+:\d{1,5}$/, 'must be host:port[,host:port...]')
          .transform((hp) => ({
            host: hp.slice(0, hp.lastIndexOf(':')),
            port: Number(hp.slice(hp.lastIndexOf(':') + 1)),
          }))
          .refine((hp) => hp.port >= 1 && hp.port <= 65535, 'port must be 1..65535'),
      )
      .min(1, 'must name at least one host:port'),
  );

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Which Redis the processes share: one server (REDIS_URL), a master found through Sentinel, or
 * a Cluster. src/redis.ts turns it into connections.
 */
export type RedisTarget =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly HostPort[];
      readonly name: string;
      readonly password?: string;
    }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly password?: string };

/**
 * Every environment variable the service reads, with its unit and default.
 * This is the only place that reads `process.env`.
 */
const EnvSchema = z
  .object({
    /** HTTP port of the API (the tutorial's 5000). */
    PORT: int(0, 65535).default(5000),
    /**
     * Bind address of the API, and of the worker's metrics port. Loopback by default, so `npm start`
     * on a laptop serves /metrics and the API to this machine only; the Docker image sets 0.0.0.0.
     */
    HOST: z.string().default('127.0.0.1'),
    /** Redis to use. Unset: the all-in-one entry starts a private redis-server. */
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    /** Redis Sentinel instead of REDIS_URL: comma-separated host:port of the sentinels; with REDIS_SENTINEL_NAME. */
    REDIS_SENTINELS: hostPorts.optional(),
    /** The master group the sentinels watch (their `sentinel monitor <name>`). */
    REDIS_SENTINEL_NAME: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ., - and _ only')
      .optional(),
    /** Redis Cluster instead of REDIS_URL: comma-separated host:port of some of its nodes (the rest are discovered). */
    REDIS_CLUSTER_NODES: hostPorts.optional(),
    /** Password for the sentinel's master and replicas, or for every cluster node (REDIS_URL carries its own). */
    REDIS_PASSWORD: z.string().optional(),
    /**
     * Replicas that must hold a submission before the API answers 202 (Redis WAIT; 0 = answer once the
     * master has it). With Sentinel, 1 makes an acknowledged job survive the master's loss.
     */
    SUBMIT_DURABLE_REPLICAS: int(0, 16).default(0),
    /** Longest the API waits for SUBMIT_DURABLE_REPLICAS acknowledgements before answering 503, ms. */
    SUBMIT_DURABLE_TIMEOUT_MS: int(10, 60_000).default(2000),
    /**
     * Longest the API waits for Redis to answer one command on its request path, ms (default 2000);
     * then the request answers 503 and /readyz fails (a durable submit's WAIT gets its own timeout
     * plus 1 s).
     */
    REDIS_COMMAND_TIMEOUT_MS: int(100, 60_000).default(2000),
    /**
     * The namespace of every queue of this deployment (each model's, the batch and the webhook
     * queue) and of the service's own keys in Redis; deployments sharing a Redis differ in it.
     */
    QUEUE_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only')
      .default('classify'),
    /**
     * Directory with model.onnx, an optional manifest.json and the labels file. Default: the shared
     * int8 ResNet-50 when it is there (faster on every CPU measured, same top-1: README,
     * Performance), else the float32 one (`MODEL_DIR=../shared/models/resnet50-v1.5` picks it).
     */
    MODEL_DIR: z.string().default(() => defaultModelDir()),
    /**
     * Several model directories, comma-separated (each with model.onnx and its manifest); replaces
     * MODEL_DIR when set. Each model gets its own queue; a worker serves every one listed.
     */
    MODEL_DIRS: z
      .string()
      .transform(commaList)
      .pipe(z.array(z.string()).min(1, 'must name at least one directory'))
      .optional(),
    /** The model a submission without `model` uses (its manifest name); default: the first of MODEL_DIRS. */
    DEFAULT_MODEL: z.string().optional(),
    /**
     * Where to download the model from when MODEL_DIR has no model file: the worker then fetches it
     * at start (resuming a partial download), and `npm run model:fetch` fetches it on demand.
     * Unset: the worker never downloads, and `model:fetch` uses the ONNX Model Zoo ResNet50 v1.
     */
    MODEL_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /** sha256 of the file at MODEL_URL, 64 hex digits; required with it. Checked before the file is put in place. */
    MODEL_SHA256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
      .optional(),
    /** Largest accepted upload, bytes (default 10 MiB). */
    MAX_UPLOAD_BYTES: int(1024, 1024 ** 3).default(10 * 1024 * 1024),
    /**
     * Uploads being received at once by one API process; beyond it a submission gets 503 with
     * Retry-After before its body is read (slow clients cannot pile up connections and memory).
     */
    MAX_CONCURRENT_UPLOADS: int(1, 100_000).default(64),
    /**
     * Bytes of upload bodies one API process holds in memory at once, bytes (default 256 MiB). Each
     * upload reserves its Content-Length (MAX_UPLOAD_BYTES when chunked) until it is decoded; one
     * that does not fit gets 503 with Retry-After before its body is read.
     */
    UPLOAD_BUFFER_BYTES: int(1024, 64 * 1024 ** 3).default(256 * 1024 * 1024),
    /**
     * An upload (single or batch) whose client sends nothing for this long is cut off and its
     * admission freed, ms (default 15 s): idle connections cannot hold MAX_CONCURRENT_UPLOADS.
     */
    UPLOAD_IDLE_TIMEOUT_MS: int(100, 600_000).default(15_000),
    /**
     * Images decoded at once by one API process (each may briefly hold its full-size pixels);
     * defaults to the number of cores.
     */
    DECODE_CONCURRENCY: int(1, 256).default(os.availableParallelism()),
    /**
     * Pixels (width x height) one API process decodes at once: a decode briefly holds about 8 bytes
     * per pixel, so the default 50 M keeps decoding near 400 MB. A larger image runs alone.
     */
    DECODE_MAX_PIXELS: int(1, 1_000_000_000).default(50_000_000),
    /** Largest accepted image, width x height pixels, checked from the header before decoding. */
    MAX_IMAGE_PIXELS: int(1, 1_000_000_000).default(50_000_000),
    /** Most images in one forward pass. */
    MAX_BATCH: int(1, 256).default(8),
    /**
     * Longest the oldest queued image waits for its batch to fill, ms. 0: an idle engine starts at
     * once, and batches form from what queues up while it is busy (on CPUs where batching does not
     * speed up per-image inference, waiting only adds latency; see README, Performance).
     */
    MAX_BATCH_DELAY_MS: int(0, 10_000).default(0),
    /** Jobs a worker holds at once; defaults to 2 x MAX_BATCH so one batch fills while another runs. */
    WORKER_CONCURRENCY: int(1, 1024).optional(),
    /**
     * ONNX Runtime intra-op threads per worker process. Default: the number of cores for a worker on
     * its own (src/worker/main.ts); under `npm start`, cores / WORKERS, so workers x threads <= cores.
     */
    INTRA_OP_THREADS: int(1, 256).optional(),
    /**
     * Let ONNX Runtime's idle threads spin waiting for work (lower latency alone, steals CPU from a
     * co-located API).
     */
    INTRA_OP_SPINNING: z.enum(['true', 'false']).default('false'),
    /** How long completed jobs (and their results) are kept, seconds. */
    RESULT_TTL_SECONDS: int(1, 30 * 86400).default(3600),
    /** How long failed jobs are kept, seconds; also the longest a stored input may wait for its job to run. */
    FAILED_TTL_SECONDS: int(1, 30 * 86400).default(86400),
    /** Upper bound for `?timeout=` on the long-poll endpoint and for `Prefer: wait=`, seconds. */
    WAIT_MAX_SECONDS: int(1, 600).default(60),
    /** How long `POST /predict` waits for its result before answering 504, seconds. */
    PREDICT_TIMEOUT_SECONDS: int(1, 600).default(30),
    /**
     * A job's lock lifetime, ms; renewed every half of it while the job is held. A dead worker's
     * jobs are free again this long after it died.
     */
    LOCK_DURATION_MS: int(1000, 600_000).default(10_000),
    /**
     * How often workers look for jobs whose lock expired (stalled), ms. Recovery of a dead worker's
     * jobs takes at most LOCK_DURATION_MS + STALLED_INTERVAL_MS.
     */
    STALLED_INTERVAL_MS: int(500, 600_000).default(5000),
    /** Jobs waiting, delayed or active beyond which submissions get 429 (0 = no limit). */
    MAX_QUEUE_DEPTH: int(0, 10_000_000).default(1000),
    /** Deadline applied to jobs submitted without ?deadline=, seconds (0 = none). */
    DEFAULT_DEADLINE_SECONDS: int(0, 30 * 86400).default(0),
    /**
     * Comma-separated API keys (or `sha256:<hex>` digests of them). Set: /jobs and /predict need
     * `Authorization: Bearer <key>`.
     */
    API_KEYS: z.string().optional(),
    /**
     * Requests per client (API key, else IP) per minute on /jobs and /predict, counted in Redis
     * across replicas (0 = off).
     */
    RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(0),
    /**
     * Failed authentication attempts (a wrong API key, dashboard or metrics credentials) per client
     * address per hour, counted in Redis; beyond it the address gets 429 before any check (0 = off).
     */
    AUTH_FAILURES_PER_HOUR: int(0, 1_000_000).default(60),
    /**
     * How many proxies in front of the API append to X-Forwarded-For (0 = none: the socket address
     * is the client). The client address is taken that many entries from the right, so whatever a
     * client writes into the header itself is never trusted.
     */
    TRUST_PROXY: z
      .string()
      .regex(
        /^(false|\d{1,2})$/,
        "the number of proxies in front of the API (0 = none); 'true' would trust any X-Forwarded-For, give the count",
      )
      .default('0'),
    /** Longest a graceful shutdown may take before the process exits anyway, ms. */
    SHUTDOWN_TIMEOUT_MS: int(1000, 600_000).default(25_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * HTTP Basic user for the Bull Board dashboard at /admin/queues; set together with
     * DASHBOARD_PASSWORD. No colon: Basic credentials split at the first one.
     */
    DASHBOARD_USER: z
      .string()
      .regex(/^[^:]{1,128}$/, 'no colon, at most 128 characters')
      .optional(),
    /** HTTP Basic password for the dashboard, at least 12 characters. */
    DASHBOARD_PASSWORD: z.string().min(12, 'at least 12 characters').optional(),
    /**
     * Bearer token for the dashboard (for proxies and scripts), at least 16 characters. With none of
     * the DASHBOARD_* credentials set the dashboard is not mounted: it can retry and delete jobs.
     */
    DASHBOARD_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
    /** Bearer token required on GET /metrics (API and worker), at least 16 characters. Unset: /metrics is open. */
    METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
    /** Port on which each worker process serves its own /metrics; 0 (the default) serves none. */
    WORKER_METRICS_PORT: int(0, 65535).default(0),
    /**
     * After the API starts, how long it accepts jobs although no worker has announced a loaded model
     * (the workers of a fresh start are loading theirs), seconds. Past it, POST /jobs and /predict
     * answer 503 no_worker while none is live.
     */
    WORKER_GRACE_SECONDS: int(0, 3600).default(30),
    /** `npm start`: delay before restarting a crashed worker, ms; doubles with each crash in a row (cap 30 s). */
    RESTART_BACKOFF_MS: int(10, 60_000).default(1000),
    /** `npm start`: crashes in a row (none lasting a minute) after which the supervisor gives up and stops. */
    RESTART_MAX_CRASHES: int(1, 100).default(5),
    /**
     * `npm start`: API processes sharing the port (node:cluster). Default: one per 8 cores, at least 1
     * (docs/scaling.md: an API process spends ~17 ms CPU per image, 7 of them on its one event loop).
     */
    API_PROCESSES: int(1, 256).default(() => Math.max(1, Math.floor(os.availableParallelism() / 8))),
    /**
     * `npm start`: worker processes, each serving every model with INTRA_OP_THREADS threads. Default:
     * one per 4 cores, at least 1 (ResNet-50 scales better over processes than over more threads).
     */
    WORKERS: int(1, 256).default(() => Math.max(1, Math.floor(os.availableParallelism() / 4))),
    /** Most images in one `POST /batches`. */
    MAX_BATCH_IMAGES: int(1, 100_000).default(500),
    /**
     * Key that signs webhook deliveries (Standard Webhooks): `whsec_` followed by base64 of 24 to
     * 64 random bytes. Unset: submissions with a `webhook` are refused with 400.
     */
    WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'must be whsec_ followed by base64 of 24 to 64 bytes')
      .optional(),
    /**
     * Comma-separated host names (or IP literals) webhooks may reach although they resolve to
     * loopback, private or link-local addresses, over plain http too (a receiver on the same host
     * or network). Every other host needs https and public addresses only.
     */
    WEBHOOK_ALLOW_HOSTS: z.string().optional(),
    /** Delivery attempts per webhook, the first included, with exponential backoff between them. */
    WEBHOOK_ATTEMPTS: int(1, 50).default(6),
    /** Delay before the first retry of a webhook delivery, ms; doubles for each further one. */
    WEBHOOK_BACKOFF_MS: int(1, 3_600_000).default(5000),
    /** How long one webhook delivery attempt may take in all (connect to the end of the answer), ms. */
    WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
    /**
     * OTLP/HTTP collector base URL (e.g. http://collector:4318). Set: each process exports traces to
     * `<url>/v1/traces`, one trace per job from the HTTP request to the worker's batch. Unset: off,
     * and the OpenTelemetry packages are not even loaded.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .optional(),
    /** service.name of the exported spans; defaults to resnet-queue-<role> (api, worker). */
    OTEL_SERVICE_NAME: z.string().optional(),
  })
  // Also when a variable failed its own check (the combinations only look at which are set), so
  // one error lists every problem.
  .superRefine(checkCombinations, { when: () => true });

type Env = z.infer<typeof EnvSchema>;

/** Every variable the schema reads (the README's configuration table lists each one). */
export const envVariableNames: readonly string[] = Object.keys(EnvSchema.shape);

/** Variables that only mean something together, or not at all together. */
function checkCombinations(env: Env, ctx: z.RefinementCtx): void {
  const targets = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => env[name] !== undefined,
  );
  if (targets.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [targets[1]!],
      message: `set one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got ${targets.join(' and ')})`,
    });
  }
  for (const [first, second, rule] of [
    ['REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'set together'],
    ['DASHBOARD_USER', 'DASHBOARD_PASSWORD', 'set together or not at all'],
  ] as const) {
    if ((env[first] === undefined) !== (env[second] === undefined)) {
      const missing = env[first] === undefined ? first : second;
      ctx.addIssue({ code: 'custom', path: [missing], message: `${first} and ${second} are ${rule}` });
    }
  }
  if (env.SUBMIT_DURABLE_REPLICAS > 0 && env.REDIS_CLUSTER_NODES !== undefined) {
    // WAIT counts the replicas of the connection it is sent on; a cluster spreads a submission's
    // writes over whichever master holds the slot, so the guarantee would not mean what it says.
    ctx.addIssue({
      code: 'custom',
      path: ['SUBMIT_DURABLE_REPLICAS'],
      message: 'not supported with REDIS_CLUSTER_NODES',
    });
  }
  // A download is only ever trusted against a pinned checksum, so the two come together.
  if (env.MODEL_URL !== undefined && env.MODEL_SHA256 === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['MODEL_SHA256'],
      message: 'required with MODEL_URL (the download is verified against it)',
    });
  }
  if (env.MODEL_SHA256 !== undefined && env.MODEL_URL === undefined) {
    ctx.addIssue({ code: 'custom', path: ['MODEL_URL'], message: 'required with MODEL_SHA256' });
  }
}

/** Keys are kept only as sha256 digests, so a key in the environment can also be given pre-hashed. */
function parseApiKeys(value: string | undefined): string[] {
  return commaList(value ?? '').map((k) =>
    /^sha256:[0-9a-f]{64}$/.test(k) ? k.slice(7) : createHash('sha256').update(k).digest('hex'),
  );
}

function redisTarget(e: Env): RedisTarget | undefined {
  const password = e.REDIS_PASSWORD;
  if (e.REDIS_URL) return { kind: 'url', url: e.REDIS_URL };
  if (e.REDIS_SENTINELS && e.REDIS_SENTINEL_NAME)
    return { kind: 'sentinel', sentinels: e.REDIS_SENTINELS, name: e.REDIS_SENTINEL_NAME, password };
  if (e.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES, password };
  return undefined;
}

/** Read-only all the way down (a Buffer stays a Buffer: its bytes cannot be frozen). */
type Frozen<T> = T extends Buffer ? T : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

function deepFreeze<T>(value: T): Frozen<T> {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value as Frozen<T>;
}

/**
 * The configuration in the groups its readers take, each passed on as it is: ApiDeps holds
 * `limits`, `webhooks` and `queue` (and `clients` and `operators`, beside their runtime parts), a
 * worker reads `worker`, `npm start` reads `processes`. Frozen all the way down: nothing changes it
 * at runtime.
 */
const ConfigSchema = EnvSchema.transform((e) =>
  deepFreeze({
    /** Where the API listens; HOST also binds the worker's metrics port. */
    http: { port: e.PORT, host: e.HOST },
    redis: {
      /** Undefined when none of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES is set. */
      target: redisTarget(e),
      /** REDIS_COMMAND_TIMEOUT_MS: a request-path Redis command not answered in this long fails (503). */
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      /** SUBMIT_DURABLE_REPLICAS: replicas that must acknowledge a submission (Redis WAIT) before 202; 0 = none. */
      durableReplicas: e.SUBMIT_DURABLE_REPLICAS,
      durableTimeoutMs: e.SUBMIT_DURABLE_TIMEOUT_MS,
    },
    /** The queues of this deployment, and how long their finished jobs are kept (a `RetentionSeconds`). */
    queue: {
      /**
       * The namespace of every queue of this deployment (each model's, the batch and the webhook
       * queue) and of the service's own keys, all `bull:<name>...`: QUEUE_NAME, or `{QUEUE_NAME}` on
       * a Cluster. The braces are a Redis hash tag: every key of the deployment hashes to one slot,
       * as BullMQ's multi-key scripts and flows across these queues require; different QUEUE_NAMEs
       * hash to different slots, so deployments spread over masters.
       */
      name: e.REDIS_CLUSTER_NODES ? `{${e.QUEUE_NAME}}` : e.QUEUE_NAME,
      resultTtlSeconds: e.RESULT_TTL_SECONDS,
      failedTtlSeconds: e.FAILED_TTL_SECONDS,
    },
    models: {
      /** The first of `dirs` (where MODEL_URL is fetched to). */
      dir: path.resolve(e.MODEL_DIRS?.[0] ?? e.MODEL_DIR),
      /** MODEL_DIRS, else [MODEL_DIR]: every model this process serves, resolved. */
      dirs: (e.MODEL_DIRS ?? [e.MODEL_DIR]).map((dir) => path.resolve(dir)),
      /** DEFAULT_MODEL; undefined: the first model. */
      defaultModel: e.DEFAULT_MODEL,
      url: e.MODEL_URL,
      /** Lower-case hex. */
      sha256: e.MODEL_SHA256?.toLowerCase(),
    },
    /** What the API accepts per request and per queue. */
    limits: {
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxImagePixels: e.MAX_IMAGE_PIXELS,
      /** Cap for ?timeout= and Prefer: wait=, seconds. */
      waitMaxSeconds: e.WAIT_MAX_SECONDS,
      predictTimeoutSeconds: e.PREDICT_TIMEOUT_SECONDS,
      /** 0 = unlimited. */
      maxQueueDepth: e.MAX_QUEUE_DEPTH,
      /** Applied when a submission names no deadline; 0 = none. */
      defaultDeadlineSeconds: e.DEFAULT_DEADLINE_SECONDS,
      /** Most images in one POST /batches. */
      maxBatchImages: e.MAX_BATCH_IMAGES,
      /** An upload whose client sends nothing this long is cut off, ms (UPLOAD_IDLE_TIMEOUT_MS). */
      uploadIdleTimeoutMs: e.UPLOAD_IDLE_TIMEOUT_MS,
    },
    /** What bounds the memory and CPU the uploads of one API process take (an `UploadAdmissionLimits`). */
    uploads: {
      maxConcurrentUploads: e.MAX_CONCURRENT_UPLOADS,
      uploadBufferBytes: e.UPLOAD_BUFFER_BYTES,
      /** DECODE_CONCURRENCY and DECODE_MAX_PIXELS (a `DecodeSlotsLimits`). */
      decode: { maxDecodes: e.DECODE_CONCURRENCY, maxPixels: e.DECODE_MAX_PIXELS },
    },
    /** Who the API's clients are and how much each may do. */
    clients: {
      /** sha256 digests (hex) of the accepted API keys; empty = no authentication. */
      apiKeyDigests: parseApiKeys(e.API_KEYS),
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      authFailuresPerHour: e.AUTH_FAILURES_PER_HOUR,
      /** Proxies in front of the API whose X-Forwarded-For entries are trusted (Koa's maxIpsCount); 0: none. */
      trustedProxyHops: e.TRUST_PROXY === 'false' ? 0 : Number(e.TRUST_PROXY),
    },
    operators: {
      /** Who may open the dashboard; empty: it is not mounted. */
      dashboardCredentials: {
        basic:
          e.DASHBOARD_USER !== undefined && e.DASHBOARD_PASSWORD !== undefined
            ? { user: e.DASHBOARD_USER, password: e.DASHBOARD_PASSWORD }
            : undefined,
        bearer: e.DASHBOARD_TOKEN,
      } satisfies Credentials,
      /** Who may read /metrics (the API's and each worker's); empty: anyone. */
      metricsCredentials: { bearer: e.METRICS_TOKEN } satisfies Credentials,
    },
    worker: {
      maxBatch: e.MAX_BATCH,
      maxBatchDelayMs: e.MAX_BATCH_DELAY_MS,
      /** Jobs one worker holds at once. */
      concurrency: e.WORKER_CONCURRENCY ?? 2 * e.MAX_BATCH,
      intraOpThreads: e.INTRA_OP_THREADS ?? os.availableParallelism(),
      intraOpSpinning: e.INTRA_OP_SPINNING === 'true',
      lockDurationMs: e.LOCK_DURATION_MS,
      stalledIntervalMs: e.STALLED_INTERVAL_MS,
      /** WORKER_METRICS_PORT; 0: none. */
      metricsPort: e.WORKER_METRICS_PORT,
      /** WORKER_GRACE_SECONDS: how long after its start the API accepts jobs with no worker live. */
      graceSeconds: e.WORKER_GRACE_SECONDS,
    },
    webhooks: {
      /** The signing key, decoded from WEBHOOK_SECRET; undefined: webhooks are refused at submit. */
      secret:
        e.WEBHOOK_SECRET === undefined ? undefined : Buffer.from(e.WEBHOOK_SECRET.slice('whsec_'.length), 'base64'),
      /**
       * Lower-case host names exempt from the address guard (and allowed over http), as
       * URL.hostname spells them: IPv6 literals without their brackets.
       */
      allowHosts: commaList(e.WEBHOOK_ALLOW_HOSTS ?? '')
        .map((h) => h.toLowerCase().replace(/^\[(.*)\]$/, '$1'))
        .filter(Boolean),
      attempts: e.WEBHOOK_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
    telemetry: {
      logLevel: e.LOG_LEVEL,
      /** OTLP/HTTP collector base URL; undefined = tracing off. */
      otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: e.OTEL_SERVICE_NAME,
    },
    /** How the service's processes are run and stopped. */
    processes: {
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      /** `npm start`: API processes sharing the port. */
      apiProcesses: e.API_PROCESSES,
      /** `npm start`: worker processes. */
      workers: e.WORKERS,
      /** `npm start`: INTRA_OP_THREADS for each of its workers (set, else cores / WORKERS, at least 1). */
      threadsPerWorker: e.INTRA_OP_THREADS ?? Math.max(1, Math.floor(os.availableParallelism() / e.WORKERS)),
      /** `npm start`: how a crashed child is restarted (RESTART_BACKOFF_MS, RESTART_MAX_CRASHES). */
      restart: { baseMs: e.RESTART_BACKOFF_MS, maxCrashes: e.RESTART_MAX_CRASHES },
    },
  }),
);

export type Config = z.output<typeof ConfigSchema>;
export type WebhookConfig = Config['webhooks'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; every problem is listed, each naming its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success)
    throw new ConfigError(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** What the `classify` command line takes from the environment. */
export function cliEnv(env: NodeJS.ProcessEnv = process.env): { apiKey: string | undefined; url: string | undefined } {
  return { apiKey: env['CLASSIFY_API_KEY'] || undefined, url: env['CLASSIFY_URL'] || undefined };
}

/** The environment for a child process of ours, with overrides (the all-in-one entry passes REDIS_URL on). */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
