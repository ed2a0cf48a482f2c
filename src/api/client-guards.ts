import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { AppError } from '../errors.js';
import { keyPrefix } from '../queue/keys.js';
import type { ApiDeps } from './deps.js';
import type { ApiState } from './api-state.js';

type Middleware = (ctx: Context & { state: ApiState }, next: Next) => Promise<void>;

/**
 * With API keys configured, requires `Authorization: Bearer <key>`. The presented key is hashed
 * and compared with every configured digest in constant time, so neither the keys nor a timing
 * side channel reveals them. The caller's owner id scopes the jobs it can see.
 */
export function requireApiKey(digests: readonly string[]): Middleware {
  const expected = digests.map((d) => Buffer.from(d, 'hex'));
  return async (ctx, next) => {
    if (expected.length > 0) {
      const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
      const presented = match ? createHash('sha256').update(match[1]!).digest() : undefined;
      let ok = false;
      for (const digest of expected) ok = (presented !== undefined && timingSafeEqual(presented, digest)) || ok;
      if (!ok) throw new AppError('unauthorized', 'send a valid API key as Authorization: Bearer <key>', { 'WWW-Authenticate': 'Bearer' });
      ctx.state.owner = presented!.toString('hex').slice(0, 16);
    }
    await next();
  };
}

/**
 * Fixed one-minute windows counted in Redis (INCR + EXPIRE), so the limit holds across API
 * replicas. Clients are API keys when configured, else IP addresses.
 */
export function rateLimit(deps: Pick<ApiDeps, 'redis' | 'queueName' | 'clients'>): Middleware {
  const limit = deps.clients.rateLimitPerMinute;
  return async (ctx, next) => {
    if (limit > 0) {
      const windowStart = Math.floor(Date.now() / 60_000);
      const key = `${keyPrefix}:${deps.queueName}:ratelimit:${ctx.state.owner ?? ctx.ip}:${windowStart}`;
      // Fails open on a Redis error: the job store reports the outage (503) right after.
      const replies = await deps.redis.multi().incr(key).expire(key, 60).exec().catch(() => null);
      const count = Number(replies?.[0]?.[1] ?? 0);
      if (count > limit) {
        const retryAfter = Math.max(1, Math.ceil(((windowStart + 1) * 60_000 - Date.now()) / 1000));
        throw new AppError('rate_limited', `more than ${limit} requests this minute`, { 'Retry-After': String(retryAfter) });
      }
    }
    await next();
  };
}

/** Refuses submissions while the queue is full, before the upload is read or decoded. */
export function queueBackpressure(deps: Pick<ApiDeps, 'store' | 'limits'>): Middleware {
  const max = deps.limits.maxQueueDepth;
  return async (_ctx, next) => {
    if (max > 0 && (await deps.store.depth()) >= max) {
      throw new AppError('queue_full', `the queue holds ${max} unfinished jobs; retry shortly`, { 'Retry-After': '5' });
    }
    await next();
  };
}
