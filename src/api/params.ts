import { z } from 'zod';
import { AppError } from '../errors.js';
import { defaultWaitSeconds, WaitQuerySchema } from './wire.js';

/** Parses one query parameter or header with a zod schema; failure names it in a 400. */
export function parseParam<T>(name: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new AppError('invalid_request', `${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  return parsed.data;
}

/** `Prefer: wait=S` (RFC 7240, as Replicate's API uses it): seconds, or undefined. Unknown preferences are ignored. */
export function preferWaitSeconds(header: string): number | undefined {
  const match = /(?:^|[;,\s])wait=(\d+)(?:$|[;,\s])/i.exec(header);
  return match ? Number(match[1]) : undefined;
}

/** A long-poll's `?timeout=`, seconds: `defaultWaitSeconds` when absent, at most WAIT_MAX_SECONDS (`maxSeconds`). */
export function waitTimeoutSeconds(value: unknown, maxSeconds: number): number {
  return Math.min(parseParam('timeout', WaitQuerySchema.shape.timeout, value) ?? defaultWaitSeconds, maxSeconds);
}
