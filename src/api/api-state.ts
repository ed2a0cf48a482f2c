import type { Logger } from '../logger.js';

/** How a route wants errors rendered: ours, or the Flask tutorial's `{success: false, error}`. */
export type ErrorFormat = 'standard' | 'tutorial';

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
