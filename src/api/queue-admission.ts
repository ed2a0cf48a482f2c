import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';

/**
 * How long a reservation counts if its holder never releases it (the API died between admission
 * and adding the job), ms. It only has to outlive storing a crop and adding the job.
 */
export const reservationTtlMs = 60_000;

/**
 * One step, in Redis: unfinished jobs (BullMQ's own wait, paused, prioritized, delayed and active
 * keys, so nothing can drift as jobs finish, fail, are cancelled or expire) plus live reservations
 * (members `<token>/<n>` scored by their expiry, epoch ms), checked against the limit; if `n` more
 * fit, a reservation for them is added. Returns {1, depth} when admitted, {0, depth} when not.
 */
const admitScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local depth = redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3]) + redis.call('ZCARD', KEYS[4])
  + redis.call('ZCARD', KEYS[5]) + redis.call('LLEN', KEYS[6])
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  depth = depth + tonumber(string.match(member, '/(%d+)$'))
end
local n = tonumber(ARGV[2])
if depth + n > tonumber(ARGV[1]) then return {0, depth} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3] .. '/' .. n)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, depth}
`;

/** Jobs admitted but not yet added; `release()` is idempotent. */
export interface Reservation {
  release(): Promise<void>;
}

const unlimited: Reservation = { release: () => Promise.resolve() };

/**
 * MAX_QUEUE_DEPTH, exact under concurrency. Reading the depth and adding a job later lets every
 * concurrent submission see the same free room; here the check and a reservation for the new jobs
 * are one Lua script, and a reservation is released once its jobs exist (then BullMQ's own keys
 * count them) or their submission failed. A reservation never released expires on its own, and
 * finished jobs leave BullMQ's keys by themselves, so no counter can leak.
 */
export class QueueAdmission {
  constructor(
    private readonly queue: Pick<Queue, 'keys'>,
    private readonly redis: Redis,
    /** Where reservations are kept (a sorted set). */
    private readonly reservationsKey: string,
    /** 0 = unlimited. */
    private readonly maxQueueDepth: number,
  ) {}

  /** Admits `count` more jobs, or throws 429 queue_full when they would exceed MAX_QUEUE_DEPTH. */
  async reserve(count: number): Promise<Reservation> {
    const max = this.maxQueueDepth;
    if (max === 0 || count === 0) return unlimited;
    const { wait, paused, prioritized, delayed, active } = this.queue.keys;
    const token = randomUUID();
    const [admitted] = (await this.redis.eval(admitScript, 6, this.reservationsKey, wait!, paused!, prioritized!, delayed!, active!, max, count, token, reservationTtlMs)) as [number, number];
    if (admitted !== 1) {
      const what = count === 1 ? '' : ` (this submission adds ${count})`;
      throw new AppError('queue_full', `the queue holds ${max} unfinished jobs${what}; retry shortly`, { 'Retry-After': '5' });
    }
    let released: Promise<void> | undefined;
    return {
      // Best effort: if Redis is gone the reservation expires after reservationTtlMs.
      release: () => (released ??= this.redis.zrem(this.reservationsKey, `${token}/${count}`).then(() => undefined, () => undefined)),
    };
  }
}
