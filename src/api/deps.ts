import type { Logger } from '../logger.js';
import type { Manifest } from '../model/manifest.js';
import type { JobStore } from './job-store.js';
import type { JobWaiter } from './job-waiter.js';

/** Everything the routes need; built by the entry point, so tests can build it the same way. */
export interface ApiDeps {
  store: JobStore;
  waiter: JobWaiter;
  /** The model's preprocessing contract (input size, resize) and default top-k. */
  manifest: Manifest;
  log: Logger;
  limits: {
    maxUploadBytes: number;
    maxImagePixels: number;
    /** Cap for ?timeout= and Prefer: wait=, seconds. */
    waitMaxSeconds: number;
    predictTimeoutSeconds: number;
  };
}
