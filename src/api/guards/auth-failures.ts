import type { RedisClient } from '../../redis.js';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { retryLater, type AppError } from '../../errors.js';
import { queueKeys } from '../../queue/keys.js';

const windowSeconds = 3600;

/**
 * Failed authentication attempts per client address (API keys, dashboard and metrics
 * credentials alike), counted in Redis by rate-limiter-flexible so every API replica sees the same
 * count; each key expires an hour after its first failure. A client that used up its failures gets
 * 429 with Retry-After instead of 401 for every further wrong credential. Valid credentials are
 * checked first and always pass: one client's wrong keys must never lock out everyone behind the
 * same address (issue 21, F11). So this limit tells a failing script to back off; what makes
 * guessing hopeless is the secrets' length (tokens of 16+ characters, passwords of 12+).
 */
export class AuthFailures {
  readonly #limiter: RateLimiterRedis | undefined;

  /** @param perHour failures allowed per address per hour; 0 turns the guard off. */
  constructor(
    redis: RedisClient,
    queueName: string,
    readonly perHour: number,
  ) {
    this.#limiter =
      perHour > 0
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: queueKeys(queueName).authFailures,
            points: perHour,
            duration: windowSeconds,
          })
        : undefined;
  }

  /** Throws `rate_limited` (with Retry-After) when `client` has no failure left this hour. */
  async assertAllowed(client: string): Promise<void> {
    if (!this.#limiter) return;
    // Fails open on a Redis error: the routes behind report the outage themselves.
    const used = await this.#limiter.get(client).catch(() => null);
    if (used && used.consumedPoints >= this.perHour) throw this.#refusal(used);
  }

  /** Counts one failed attempt by `client`. */
  async record(client: string): Promise<void> {
    // A rejection is either "over the limit" (the next attempt is refused) or a Redis error (fails open).
    await this.#limiter?.consume(client).catch(() => undefined);
  }

  #refusal(used: RateLimiterRes): AppError {
    const retryAfter = Math.max(1, Math.ceil(used.msBeforeNext / 1000));
    return retryLater(
      'rate_limited',
      `too many failed authentication attempts from this address; retry in ${retryAfter} s`,
      { retryAfterSeconds: retryAfter },
    );
  }
}
