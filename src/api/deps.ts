import type { Queue } from 'bullmq';
import type { Config } from '../config.js';
import type { JobData, JobResult } from '../queue/job-schemas.js';
import type { RedisClient } from '../redis.js';
import type { Logger } from '../logger.js';
import type { ApiMetrics } from './api-metrics.js';
import type { AuthFailures } from './guards/auth-failures.js';
import type { BatchStore, ModelCatalog, JobWaiter, RedisHeadroom } from '../jobs/index.js';
import type { DashboardQueue } from './dashboard.js';
import type { DecodeSlots } from './uploads/decode-slots.js';
import type { UploadAdmission } from './uploads/upload-admission.js';
import type { ReplicateDeps } from './replicate/replicate-deps.js';

/** Everything the routes need; built by the entry point, so tests can build it the same way. */
export interface ApiDeps {
  /** Every served model with its queue's store; routes pick one per request. */
  models: ModelCatalog;
  waiter: JobWaiter;
  batches: BatchStore;
  /** Long-polls on batches, over the batch queue's events. */
  batchWaiter: JobWaiter;
  /** Without a secret (WEBHOOK_SECRET unset), submissions with a webhook are refused. */
  webhooks: Config['webhooks'];
  log: Logger;
  /** For per-client rate-limit counters (shared by all API replicas). */
  redis: RedisClient;
  /** The namespace of this deployment's queues and keys (QUEUE_NAME), and their retention. */
  queue: Config['queue'];
  clients: Config['clients'] & {
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
  limits: Config['limits'];
  /**
   * Submissions are refused with 503 no_worker while no worker has announced a loaded model, once
   * this instant (epoch ms) has passed: the grace period that lets the workers of a fresh start load.
   */
  acceptWithoutWorkerUntil: number;
  /** The Replicate-compatible front door's own parts (/v1). */
  replicate: ReplicateDeps;
  /** Who may open the dashboard and read /metrics, and what the dashboard shows. */
  operators: Config['operators'] & {
    /** Every model's queue (tests inspect them): every other path goes through `models`. */
    queues: readonly Queue<JobData, JobResult>[];
    /** What the dashboard shows: every queue of this QUEUE_NAME, models, batches and webhooks, named for people. */
    dashboardQueues: readonly DashboardQueue[];
  };
}
