import type { Logger } from '../logger.js';

/**
 * How a route wants errors rendered: ours, the Flask tutorial's `{success: false, error}`,
 * Replicate's problem details (/v1) or the Open Inference Protocol's `{error}` (/v2).
 */
export type ErrorFormat = 'standard' | 'tutorial' | 'replicate' | 'open-inference';

/** What the middleware puts in `ctx.state` for the rest of a request. */
export interface ApiState {
  requestId: string;
  log: Logger;
  errorFormat?: ErrorFormat;
  /** Digest prefix of the caller's API key when keys are configured; jobs are scoped to it. */
  owner?: string;
  /**
   * The route pattern this request is counted under in metrics, for handlers mounted outside the
   * router (the dashboard); routed requests use the router's own pattern.
   */
  route?: string;
  /** A model requireWorker found live workers for, so the submission need not ask again once its body is read. */
  liveModel?: string;
}
