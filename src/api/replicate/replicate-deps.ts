import type { UrlFetchLimits } from './fetch-image-url.js';
import type { FileStore } from './file-store.js';
import type { ModelVersions } from './model-versions.js';
import type { PredictionBook } from './prediction-book.js';

/** What the Replicate-compatible front door (/v1) adds to the job service it fronts. */
export interface ReplicateDeps {
  predictions: PredictionBook;
  files: FileStore;
  versions: ModelVersions;
  /** How `input.image` URLs are fetched: WEBHOOK_ALLOW_HOSTS, MAX_UPLOAD_BYTES, WEBHOOK_TIMEOUT_MS. */
  fetch: UrlFetchLimits;
  /** WEBHOOK_SECRET as configured (`whsec_…`), for GET /v1/webhooks/default/secret; unset: webhooks are off. */
  webhookSecret: string | undefined;
}
