import { Cluster } from 'ioredis';
import { retryLater } from '../errors.js';
import type { RedisClient } from '../redis.js';

/** New work is refused once Redis holds this share of its maxmemory: the rest is the workers' room. */
export const maxMemoryShare = 0.9;

/** How long one INFO sample stands for the memory in use, ms. */
const sampleMs = 1000;

interface Sample {
  at: number;
  /** Bytes still free before `maxMemoryShare` of maxmemory, least over the masters; Infinity with no maxmemory. */
  freeBytes: number;
}

function freeBytes(info: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  const max = field('maxmemory');
  return max === 0 ? Infinity : max * maxMemoryShare - field('used_memory');
}

/**
 * Admission by Redis memory (issue 21, F3/F4). With `noeviction` (required: see SECURITY.md) a
 * full Redis refuses writes, BullMQ can then move no job to active or completed, and nothing
 * drains; so the API stops taking new work while Redis holds `maxMemoryShare` of its
 * `maxmemory` (`INFO memory`, sampled at most once a second; every master of a Cluster) and
 * answers 503 `redis_full` with Retry-After. The share left over is room for the workers to
 * finish what was accepted, which frees the crops. Bytes this process stores between samples
 * (a batch's crops) are counted against the sample, so a batch cannot overshoot it.
 */
export class RedisHeadroom {
  private sample: Promise<Sample> | undefined;
  private storedSinceSample = 0;
  private refreshing: Promise<Sample> | undefined;

  constructor(private readonly redis: RedisClient) {}

  /** Throws `redis_full` unless `bytes` more fit below the share of maxmemory. */
  async assertRoom(bytes = 0): Promise<void> {
    const { freeBytes: free } = await this.current();
    if (free - this.storedSinceSample < bytes || free <= 0) {
      throw retryLater(
        'redis_full',
        `Redis holds ${Math.round(maxMemoryShare * 100)}% of its maxmemory: no new work until the queue drains`,
        { expose: true },
      );
    }
  }

  /** Counts `bytes` this process has just stored, until the next sample sees them. */
  note(bytes: number): void {
    this.storedSinceSample += bytes;
  }

  private async current(): Promise<Sample> {
    const held = await this.sample;
    if (held && performance.now() - held.at < sampleMs) return held;
    // One refresh at a time; only what was stored before its INFO was sent is in it, so what is
    // noted meanwhile still counts afterwards.
    this.refreshing ??= (async () => {
      const counted = this.storedSinceSample;
      const fresh = await this.read().catch(() => ({ at: performance.now(), freeBytes: Infinity }));
      this.storedSinceSample -= counted;
      this.sample = Promise.resolve(fresh);
      this.refreshing = undefined;
      return fresh;
    })();
    return this.refreshing;
  }

  /** Fails open: a Redis that cannot answer INFO fails the submission's own commands anyway (503). */
  private async read(): Promise<Sample> {
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    const infos = await Promise.all(nodes.map((node) => node.info('memory')));
    return { at: performance.now(), freeBytes: Math.min(...infos.map(freeBytes)) };
  }
}
