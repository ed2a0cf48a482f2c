import type { z } from 'zod';
import type { JobView, Prediction } from '../api/wire.js';
import { errorTable, isErrorCode } from '../errors.js';

export const exitCodes = { ok: 0, badInput: 2, serverError: 3, timeout: 4 } as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** Beyond the deadline, how long a request may hang before it counts as timed out, ms. */
const hangGraceMs = 5000;

export interface FileResult {
  file: string;
  /** The job's ID, once submitted. */
  id?: string;
  /** The job's last known status; `not_submitted` if it never reached the service. */
  status: JobView['status'] | 'not_submitted';
  predictions?: Prediction[];
  error?: { code: string; message: string };
  exitCode: ExitCode;
}

/** Why one image could not be classified, with the exit code it stands for. */
export class Failure extends Error {
  constructor(
    readonly exitCode: ExitCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Reply {
  status: number;
  body: unknown;
}

/** A request to the service; the body is JSON when it parses, else undefined (NDJSON is read with `text`). */
export async function call(
  url: string,
  init: RequestInit,
  deadlineMs: number,
  read: 'json' | 'text' = 'json',
): Promise<Reply> {
  // The long-poll answers by itself within its timeout; this signal only catches a server that hangs.
  const signal = AbortSignal.timeout(Math.max(deadlineMs - Date.now(), 0) + hangGraceMs);
  try {
    const res = await fetch(url, { ...init, signal });
    const text = await res.text();
    if (read === 'text' && res.ok) return { status: res.status, body: text };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError')
      throw new Failure(exitCodes.timeout, 'timeout', `no answer from ${new URL(url).origin} in time`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Failure(
      exitCodes.serverError,
      'unreachable',
      `cannot reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
}

/** The reply's body as `schema` describes it; anything else is the service's fault. */
export function parseReply<T>(schema: z.ZodType<T>, reply: Reply): T {
  const parsed = schema.safeParse(reply.body);
  if (!parsed.success)
    throw new Failure(
      exitCodes.serverError,
      'bad_response',
      `unexpected answer from the service (HTTP ${reply.status})`,
    );
  return parsed.data;
}

/** The service's `{error: {code, message}}`, or a stand-in naming the HTTP status. */
export function httpFailure(reply: Reply, exitCode: ExitCode): Failure {
  const error = (reply.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  // The service's 401 speaks of HTTP headers; a command-line user needs the flag.
  const hint = reply.status === 401 ? ' (pass --api-key KEY, or set CLASSIFY_API_KEY)' : '';
  if (typeof error?.code === 'string' && typeof error.message === 'string')
    return new Failure(exitCode, error.code, `${error.message}${hint}`);
  return new Failure(exitCode, `http_${reply.status}`, `the service answered HTTP ${reply.status}${hint}`);
}

/** A failed job's error as a Failure: the client's fault (4xx codes) is bad input, anything else the server's. */
export function jobFailure(error: { code: string; message: string } | undefined): Failure {
  const { code, message } = error ?? { code: 'internal', message: 'the job failed' };
  const clientFault = isErrorCode(code) && errorTable[code].status < 500;
  return new Failure(clientFault ? exitCodes.badInput : exitCodes.serverError, code, message);
}
