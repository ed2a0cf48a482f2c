import { AppError } from '../../errors.js';
import type { QueueKeys } from '../../queue/keys.js';
import type { RedisClient } from '../../redis.js';
import { retryAfterSeconds } from '../job-store.js';
import type { ModelCatalog } from '../model-catalog.js';
import { toPrediction, type PredictionRecord } from './prediction-view.js';
import type { ReplicatePrediction } from './wire.js';

/** Who a list belongs to: the caller's API key (its owner id), or everyone when the API is open. */
const scopeOf = (owner: string | undefined) => (owner === undefined ? 'open' : `owner:${owner}`);

/** A list member: creation time (13 digits, epoch ms) then job ID, so lexical order is creation order. */
const member = (createdMs: number, id: string) => `${String(createdMs).padStart(13, '0')}:${id}`;

/**
 * The Replicate side of each prediction: what it was created with, and each caller's list of its
 * predictions, both kept as long as results (RESULT_TTL_SECONDS). The job itself stays in the job
 * store; a prediction is read through it, so keys, owners and expiry are the job's.
 */
export class PredictionBook {
  constructor(
    private readonly models: ModelCatalog,
    private readonly redis: RedisClient,
    /** The namespace's keys (QUEUE_NAME), where both live. */
    private readonly keys: QueueKeys,
    private readonly ttlSeconds: number,
    /** Predictions per page of GET /v1/predictions (Replicate's: 100). */
    public pageSize = 100,
  ) {}

  /** Records a new prediction and adds it to its caller's list (entries older than the TTL leave it). */
  async remember(id: string, createdAt: string, record: PredictionRecord, owner: string | undefined): Promise<void> {
    const list = this.keys.predictions(scopeOf(owner));
    const cutoff = member(Date.now() - this.ttlSeconds * 1000, '');
    await this.call(() =>
      this.redis
        .multi()
        .set(this.keys.prediction(id), JSON.stringify(record), 'EX', this.ttlSeconds)
        .zadd(list, 0, member(Date.parse(createdAt), id))
        .zremrangebylex(list, '-', `(${cutoff}`)
        .expire(list, this.ttlSeconds)
        .exec(),
    );
  }

  /** The prediction, or undefined when its job is unknown, expired or not the caller's. */
  async get(id: string, owner: string | undefined, origin: string): Promise<ReplicatePrediction | undefined> {
    const view = await this.models.getJob(id, owner);
    if (!view) return undefined;
    const raw = await this.call(() => this.redis.get(this.keys.prediction(id)));
    return toPrediction(view, raw === null ? undefined : (JSON.parse(raw) as PredictionRecord), origin);
  }

  /**
   * One page of the caller's predictions, newest first, from `cursor` (a member, exclusive) on;
   * `next` is the cursor of the following page, if any.
   */
  async list(
    owner: string | undefined,
    origin: string,
    cursor: string | undefined,
  ): Promise<{ results: ReplicatePrediction[]; next?: string }> {
    const list = this.keys.predictions(scopeOf(owner));
    const from = cursor === undefined ? '+' : `(${cursor}`;
    const members = await this.call(() =>
      this.redis.zrange(list, from, '-', 'BYLEX', 'REV', 'LIMIT', 0, this.pageSize + 1),
    );
    const page = members.slice(0, this.pageSize);
    const read = await Promise.all(page.map((m) => this.get(m.slice(14), owner, origin)));
    return {
      // A job that expired before its list entry did is left out.
      results: read.filter((p) => p !== undefined),
      next: members.length > this.pageSize ? page.at(-1) : undefined,
    };
  }

  private async call<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      throw new AppError(
        'unavailable',
        'the job store is unavailable (predictions); retry shortly',
        { 'Retry-After': String(retryAfterSeconds) },
        { cause: err },
      );
    }
  }
}
