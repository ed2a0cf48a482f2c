import type { Queue } from 'bullmq';
import type { Credentials } from '../credentials.js';
import type { JobData, JobResult } from '../jobs.js';
import type { Logger } from '../logger.js';
import type { Manifest } from '../model/manifest.js';
import type { ApiMetrics } from './api-metrics.js';
import type { JobStore } from './job-store.js';
import type { JobWaiter } from './job-waiter.js';

/** Everything the routes need; built by the entry point, so tests can build it the same way. */
export interface ApiDeps {
  store: JobStore;
  waiter: JobWaiter;
  /** The model's preprocessing contract (input size, resize) and default top-k. */
  manifest: Manifest;
  log: Logger;
  metrics: ApiMetrics;
  limits: {
    maxUploadBytes: number;
    maxImagePixels: number;
    /** Cap for ?timeout= and Prefer: wait=, seconds. */
    waitMaxSeconds: number;
    predictTimeoutSeconds: number;
  };
  operators: {
    /** The queue itself, for the dashboard only: every other path goes through `store`. */
    queue: Queue<JobData, JobResult>;
    /** Who may open the dashboard; empty: it is not mounted. */
    dashboardCredentials: Credentials;
    /** Who may read /metrics; empty: anyone. */
    metricsCredentials: Credentials;
  };
}
