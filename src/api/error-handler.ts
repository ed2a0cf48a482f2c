import type { Context, Next } from 'koa';
import { AppError, errorTable, type ErrorBody, type ErrorCode, type TutorialErrorBody } from '../errors.js';
import { ImageError } from '../model/image-error.js';
import type { ApiState, ErrorFormat } from './api-state.js';
import type { OpenInferenceError } from './open-inference/wire.js';
import type { ReplicateError } from './replicate/wire.js';

/** Errors thrown by Koa or its middleware (http-errors) that carry a status we may pass on. */
const httpStatusCodes: Record<number, ErrorCode> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
};

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // The model layer's refusals carry codes of the error table; their messages are written for clients.
  if (err instanceof ImageError) return new AppError(err.code, err.message);
  const status = (err as { status?: unknown }).status;
  const code = typeof status === 'number' ? httpStatusCodes[status] : undefined;
  if (code) return new AppError(code);
  return new AppError('internal');
}

/**
 * The router leaves 405 (a method the route lacks) and 501 (a method no route has: PROPFIND,
 * TRACE…) as bare statuses with Allow: both are the client's mistake, 405 with the same Allow;
 * without an Allow the path itself is unknown.
 */
function methodError(ctx: Context): AppError | undefined {
  if (ctx.body !== undefined || (ctx.status !== 405 && ctx.status !== 501)) return undefined;
  const allow = ctx.response.get('Allow');
  if (!allow) {
    ctx.remove('Allow');
    return new AppError('not_found', `no route for ${ctx.method} ${ctx.path}`);
  }
  return new AppError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${allow}`, {
    Allow: allow,
  });
}

/** A front door's own shape: the route's choice, else the one of the API its path belongs to. */
function errorFormat(ctx: Context & { state: ApiState }): ErrorFormat {
  if (ctx.state.errorFormat) return ctx.state.errorFormat;
  if (ctx.path === '/v1' || ctx.path.startsWith('/v1/')) return 'replicate';
  if (ctx.path === '/v2' || ctx.path.startsWith('/v2/')) return 'open-inference';
  return 'standard';
}

function errorBody(
  format: ErrorFormat,
  { code, status }: AppError,
  message: string,
): ErrorBody | TutorialErrorBody | ReplicateError | OpenInferenceError {
  if (format === 'tutorial') return { success: false, error: message, code };
  if (format === 'replicate') return { title: code, detail: message, status, code };
  if (format === 'open-inference') return { error: message };
  return { error: { code, message } };
}

/** The client closed the connection before its request was read: nobody is left to answer. */
function clientWentAway(ctx: Context): boolean {
  return !ctx.req.complete && (ctx.req.destroyed || ctx.req.socket.destroyed);
}

/**
 * A refusal the service makes on purpose under load or while a part is missing: 429 (queue full,
 * rate limited) and a 503 with Retry-After (uploads at their cap, no worker, Redis unreachable,
 * not replicated in time). It is logged at warn with its code, without a stack: an attack or a
 * deploy must not flood the error channel, which is kept for faults nobody expected.
 */
function expectedRefusal(error: AppError): boolean {
  return error.status === 429 || (error.status === 503 && error.headers['Retry-After'] !== undefined);
}

/**
 * The one place errors become responses, and the one error policy: a 4xx answers the error's own
 * message (written for clients); an expected refusal (expectedRefusal) logs at warn with its code;
 * every other 5xx is logged at error with its cause and the request id, and
 * answers the table's generic text unless the AppError was explicitly exposed (a message of ours,
 * such as the 504's "the job goes on as /jobs/…"), so no Redis, sharp or ONNX Runtime message
 * reaches a client whatever threw it.
 */
export async function errorHandler(ctx: Context & { state: ApiState }, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined)
      throw new AppError('not_found', `no route for ${ctx.method} ${ctx.path}`);
    const refused = methodError(ctx);
    if (refused) throw refused;
  } catch (err) {
    const appError = toAppError(err);
    const serverSide = appError.status >= 500;
    if (clientWentAway(ctx)) {
      // An aborted upload is the client's choice, not a fault of ours: no error-level log.
      ctx.state.log.info(
        { reason: (err as Error).message },
        'client closed the connection before the request was read',
      );
    } else if (expectedRefusal(appError))
      ctx.state.log.warn(
        { code: appError.code, status: appError.status, reason: appError.message, reqId: ctx.state.requestId },
        'request refused',
      );
    else if (serverSide)
      ctx.state.log.error({ err, code: appError.code, reqId: ctx.state.requestId }, 'request failed');
    else if (err instanceof ImageError && err.cause) ctx.state.log.debug({ err }, 'image refused');
    const message = appError.expose ? appError.message : errorTable[appError.code].description;
    ctx.status = appError.status;
    ctx.set(appError.headers);
    ctx.body = errorBody(errorFormat(ctx), appError, message);
  }
}
