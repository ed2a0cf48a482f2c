import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, queueFull, retryLater } from '../../errors.js';
import { queueKeys } from '../../queue/keys.js';
import type { AuthFailures } from './auth-failures.js';
import type { ApiDeps } from '../deps.js';
import type { ApiState } from '../api-state.js';

type Middleware = (ctx: Context & { state: ApiState }, next: Next) => Promise<void>;

/**
 * With API keys configured, requires `Authorization: Bearer <key>`. The presented key is hashed
 * and compared with every configured digest in constant time, so neither the keys nor a timing
 * side channel reveals them. The caller's owner id scopes the jobs it can see. Wrong keys count
 * as failed attempts of the client's address (`AuthFailures`); a valid key is compared first and
 * never refused for them, so nobody sharing an address (or a proxy) can lock its owner out.
 */
export function requireApiKey(digests: readonly string[], failures: AuthFailures): Middleware {
  const expected = digests.map((d) => Buffer.from(d, 'hex'));
  return async (ctx, next) => {
    if (expected.length > 0) {
      const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
      const presented = match ? createHash('sha256').update(match[1]!).digest() : undefined;
      let ok = false;
      for (const digest of expected) ok = (presented !== undefined && timingSafeEqual(presented, digest)) || ok;
      if (!ok) {
        await failures.assertAllowed(ctx.ip);
        await failures.record(ctx.ip);
        throw new AppError('unauthorized', 'send a valid API key as Authorization: Bearer <key>', {
          'WWW-Authenticate': 'Bearer',
        });
      }
      ctx.state.owner = presented!.toString('hex').slice(0, 16);
    }
    await next();
  };
}

/** Name of the one policy in the RateLimit headers. */
const policyName = 'per-minute';

/**
 * RATE_LIMIT_PER_MINUTE per client (its API key when keys are configured, else its address),
 * counted in Redis by rate-limiter-flexible so the limit holds across API replicas; each client's
 * key expires with its window. Every answer carries the IETF `RateLimit-Policy` and `RateLimit`
 * headers (draft-ietf-httpapi-ratelimit-headers: quota `q` per window `w` seconds, `r` remaining,
 * reset in `t` seconds); a refusal is 429 with Retry-After.
 */
export function rateLimit(deps: Pick<ApiDeps, 'redis' | 'queue' | 'clients'>): Middleware {
  const limit = deps.clients.rateLimitPerMinute;
  if (limit === 0) return (_ctx, next) => next();
  const limiter = new RateLimiterRedis({
    storeClient: deps.redis,
    keyPrefix: queueKeys(deps.queue.name).rateLimits,
    points: limit,
    duration: 60,
  });
  return async (ctx, next) => {
    let state: RateLimiterRes;
    try {
      state = await limiter.consume(ctx.state.owner ?? ctx.ip);
    } catch (err) {
      // Fails open on a Redis error: the job store reports the outage (503) right after.
      if (!(err instanceof RateLimiterRes)) {
        await next();
        return;
      }
      state = err;
    }
    const resetSeconds = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    ctx.set({
      'RateLimit-Policy': `"${policyName}";q=${limit};w=60`,
      RateLimit: `"${policyName}";r=${state.remainingPoints};t=${resetSeconds}`,
    });
    if (state.consumedPoints > limit) {
      throw retryLater('rate_limited', `more than ${limit} requests this minute`, { retryAfterSeconds: resetSeconds });
    }
    await next();
  };
}

/**
 * Refuses submissions while the queue or Redis is already full, before the upload is read or
 * decoded: a cheap early answer only. The exact limit is JobStore's atomic admission (QueueAdmission), since
 * concurrent requests can all pass this read before any of them adds its job.
 */
export function queueBackpressure(deps: Pick<ApiDeps, 'models' | 'limits' | 'uploads'>): Middleware {
  const max = deps.limits.maxQueueDepth;
  return async (ctx, next) => {
    await deps.uploads.redisHeadroom.assertRoom();
    if (max > 0) {
      // Each model's queue has its own limit. While the body may still name the model (a multipart
      // field, a JSON property), refuse early only when every queue is full.
      const named = ctx.query['model'];
      const candidates =
        named !== undefined || !ctx.is('multipart', 'json') ? [deps.models.pick(named)] : deps.models.models;
      const depths = await Promise.all(candidates.map((model) => model.store.depth()));
      if (depths.every((depth) => depth >= max)) {
        throw queueFull(max);
      }
    }
    await next();
  };
}
