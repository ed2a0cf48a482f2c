import type { Cluster, Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

/** How long one announcement counts, ms; a worker renews it every third of that. */
export const announcementTtlMs = 15_000;

/**
 * Workers announce that they have a loaded model in one sorted set, scored by when the
 * announcement expires, so the API counts live workers with one ZCOUNT (cheap enough for every
 * submission) and a worker that died stops counting within announcementTtlMs.
 */
export class WorkerPresence {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: QueueKeys,
  ) {}

  /** Announces (or renews) worker `id`; also drops announcements that expired. */
  async announce(id: string, now = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.keys.workers, now + announcementTtlMs, id)
      .zremrangebyscore(this.keys.workers, '-inf', now)
      .exec();
  }

  async withdraw(id: string): Promise<void> {
    await this.redis.zrem(this.keys.workers, id);
  }

  /** Workers whose announcement has not expired. */
  count(now = Date.now()): Promise<number> {
    return this.redis.zcount(this.keys.workers, now, '+inf');
  }

  /**
   * Announces now (awaited: the worker counts once this resolves) and every third of the TTL until
   * the returned function is called, which withdraws the announcement. A failed announcement,
   * the first included, is reported and retried at the next tick: a Redis too full to take the
   * write (OOM under noeviction) must not stop a worker whose jobs are what frees its memory.
   */
  async keepAnnounced(id: string, onError: (err: unknown) => void): Promise<() => Promise<void>> {
    const renew = () => this.announce(id).catch(onError);
    await renew();
    const timer = setInterval(() => void renew(), announcementTtlMs / 3);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.withdraw(id).catch(onError);
    };
  }
}
