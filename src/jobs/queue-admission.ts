import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import { queueFull } from '../errors.js';
import { queueDepthKeys, queueDepthStates } from '../queue/queue-depth.js';

/**
 * How long a reservation counts if its holder never releases it (the API died between admission
 * and adding the job), ms. It only has to outlive storing a crop and adding the job.
 */
export const reservationTtlMs = 60_000;

/**
 * One step, in Redis: the queue depth (queue-depth.ts: BullMQ's own keys of each depth state, so
 * nothing can drift as jobs finish, fail, are cancelled or expire) plus live reservations
 * (one member per job ID, scored by its expiry, epoch ms), checked against the limit; if the new
 * jobs fit, a reservation for each is added. A reservation whose job already exists is counted by
 * BullMQ's keys, so it is dropped rather than counted twice (the add and the release are separate
 * steps). Returns {1, depth} when admitted, {0, depth} when not.
 * KEYS: reservations, then the key of each depth state in queueDepthStates' order.
 * ARGV: max, reservation TTL ms, job key prefix, the depth keys' types (`list,zset,...`), the new job IDs...
 */
const admitScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local depth = 0
local i = 2
for kind in string.gmatch(ARGV[4], '[^,]+') do
  depth = depth + redis.call(kind == 'list' and 'LLEN' or 'ZCARD', KEYS[i])
  i = i + 1
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[3] .. id) == 1 then redis.call('ZREM', KEYS[1], id) else depth = depth + 1 end
end
local n = #ARGV - 4
if depth + n > tonumber(ARGV[1]) then return {0, depth} end
local expiry = now + tonumber(ARGV[2])
for j = 5, #ARGV do redis.call('ZADD', KEYS[1], expiry, ARGV[j]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
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
    private readonly queue: Pick<Queue, 'keys' | 'toKey'>,
    private readonly redis: RedisClient,
    /** Where reservations are kept (a sorted set). */
    private readonly reservationsKey: string,
    /** 0 = unlimited. */
    private readonly maxQueueDepth: number,
  ) {}

  /** Admits the jobs `jobIds` (not yet added), or throws 429 queue_full when they would exceed MAX_QUEUE_DEPTH. */
  async reserve(jobIds: readonly string[]): Promise<Reservation> {
    const max = this.maxQueueDepth;
    if (max === 0 || jobIds.length === 0) return unlimited;
    const jobKeyPrefix = this.queue.toKey('');
    const depthKeys = queueDepthStates.map((state) => queueDepthKeys[state]);
    const keys = [this.reservationsKey, ...depthKeys.map(({ key }) => this.queue.keys[key]!)];
    const types = depthKeys.map(({ type }) => type).join(',');
    const [admitted] = (await this.redis.eval(
      admitScript,
      keys.length,
      ...keys,
      max,
      reservationTtlMs,
      jobKeyPrefix,
      types,
      ...jobIds,
    )) as [number, number];
    if (admitted !== 1) {
      const what = jobIds.length === 1 ? '' : ` (this submission adds ${jobIds.length})`;
      throw queueFull(max, what);
    }
    let released: Promise<void> | undefined;
    return {
      // Best effort: if Redis is gone the reservations expire after reservationTtlMs.
      release: () =>
        (released ??= this.redis.zrem(this.reservationsKey, ...jobIds).then(
          () => undefined,
          () => undefined,
        )),
    };
  }
}
