import type { Queue } from 'bullmq';
import type { Credentials } from '../credentials.js';
import type { JobData, JobResult } from '../queue/job-schemas.js';
import type { RedisClient } from '../redis.js';
import type { Logger } from '../logger.js';
import type { ApiMetrics } from './api-metrics.js';
import type { AuthFailures } from './auth-failures.js';
import type { BatchStore, ModelCatalog, JobWaiter, RedisHeadroom } from '../jobs/index.js';
import type { DashboardQueue } from './dashboard.js';
import type { DecodeSlots } from './decode-slots.js';
import type { UploadAdmission } from './upload-admission.js';
import type { ReplicateDeps } from './replicate/replicate-deps.js';

/** Everything the routes need; built by the entry point, so tests can build it the same way. */
export interface ApiDeps {
  /** Every served model with its queue's store; routes pick one per request. */
  models: ModelCatalog;
  waiter: JobWaiter;
  batches: BatchStore;
  /** Long-polls on batches, over the batch queue's events. */
  batchWaiter: JobWaiter;
  /** Set when WEBHOOK_SECRET is: the hosts exempt from the address guard. Unset: webhooks are refused. */
  webhooks: { allowHosts: readonly string[] } | undefined;
  log: Logger;
  /** For per-client rate-limit counters (shared by all API replicas). */
  redis: RedisClient;
  queueName: string;
  /** Proxies in front of the API whose X-Forwarded-For entries are trusted (Koa's maxIpsCount); 0: none. */
  trustedProxyHops: number;
  clients: {
    /** sha256 digests of accepted API keys; empty = open API. */
    apiKeyDigests: readonly string[];
    rateLimitPerMinute: number;
    /** Failed authentication attempts per address, shared by API keys, the dashboard and /metrics. */
    authFailures: AuthFailures;
  };
  metrics: ApiMetrics;
  /** What bounds the memory and CPU uploads take in this process. */
  uploads: {
    /** Admits upload bodies before they are read (MAX_CONCURRENT_UPLOADS, UPLOAD_BUFFER_BYTES). */
    admission: UploadAdmission;
    /** Decodes running at once, by count and pixels (DECODE_CONCURRENCY, DECODE_MAX_PIXELS). */
    decodeSlots: DecodeSlots;
    /** Refuses new work while Redis is nearly full (redis_full). */
    redisHeadroom: RedisHeadroom;
  };
  limits: {
    maxUploadBytes: number;
    maxImagePixels: number;
    /** Cap for ?timeout= and Prefer: wait=, seconds. */
    waitMaxSeconds: number;
    predictTimeoutSeconds: number;
    /** 0 = unlimited. */
    maxQueueDepth: number;
    /** Applied when a submission names no deadline; 0 = none. */
    defaultDeadlineSeconds: number;
    /** Most images in one POST /batches. */
    maxBatchImages: number;
    /** An upload whose client sends nothing this long is cut off, ms (UPLOAD_IDLE_TIMEOUT_MS). */
    uploadIdleTimeoutMs: number;
  };
  /**
   * Submissions are refused with 503 no_worker while no worker has announced a loaded model, once
   * this instant (epoch ms) has passed: the grace period that lets the workers of a fresh start load.
   */
  acceptWithoutWorkerUntil: number;
  /** The Replicate-compatible front door's own parts (/v1). */
  replicate: ReplicateDeps;
  operators: {
    /** Every model's queue (tests inspect them): every other path goes through `models`. */
    queues: readonly Queue<JobData, JobResult>[];
    /** What the dashboard shows: every queue of this QUEUE_NAME, models, batches and webhooks, named for people. */
    dashboardQueues: readonly DashboardQueue[];
    /** Who may open the dashboard; empty: it is not mounted. */
    dashboardCredentials: Credentials;
    /** Who may read /metrics; empty: anyone. */
    metricsCredentials: Credentials;
  };
}
