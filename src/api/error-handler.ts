import type { Context, Next } from 'koa';
import { AppError, type ErrorBody, type ErrorCode, type TutorialErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';

/** How a route wants errors rendered: ours, or the Flask tutorial's `{success: false, error}`. */
export type ErrorFormat = 'standard' | 'tutorial';

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
}

/** Errors thrown by Koa or its middleware (http-errors) that carry a status we may pass on. */
const httpStatusCodes: Record<number, ErrorCode> = { 404: 'not_found', 405: 'method_not_allowed', 413: 'payload_too_large' };

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = (err as { status?: unknown }).status;
  const code = typeof status === 'number' ? httpStatusCodes[status] : undefined;
  if (code) return new AppError(code);
  return new AppError('internal');
}

/**
 * The one place errors become responses. AppErrors carry a message written for clients;
 * anything else is logged with its stack and answered as `internal`, never with internals.
 */
export async function errorHandler(ctx: Context & { state: ApiState }, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) throw new AppError('not_found', `no route for ${ctx.method} ${ctx.path}`);
  } catch (err) {
    const appError = toAppError(err);
    if (appError.code === 'internal') ctx.state.log.error({ err }, 'request failed');
    const message = appError.message;
    ctx.status = appError.status;
    ctx.set(appError.headers);
    const body: ErrorBody | TutorialErrorBody =
      ctx.state.errorFormat === 'tutorial'
        ? { success: false, error: message, code: appError.code }
        : { error: { code: appError.code, message } };
    ctx.body = body;
  }
}
