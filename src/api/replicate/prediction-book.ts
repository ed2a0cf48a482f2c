import type { QueueKeys } from '../../queue/keys.js';
import type { RedisClient } from '../../redis.js';
import { redisCall, type ModelCatalog } from '../../jobs/index.js';
import { toPrediction, type PredictionRecord } from './prediction-view.js';
import type { ReplicatePrediction } from './wire.js';

/** Who lists a prediction: its API key (owner id), or on an open API its client's address. */
export interface Lister {
  owner: string | undefined;
  /** ctx.ip (honouring TRUST_PROXY): on an open API, listing everyone's IDs would make them guessable. */
  client: string;
}

const scopeOf = ({ owner, client }: Lister) => (owner === undefined ? `client:${client}` : `owner:${owner}`);

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
  async remember(id: string, createdAt: string, record: PredictionRecord, lister: Lister): Promise<void> {
    const list = this.keys.predictions(scopeOf(lister));
    const cutoff = member(Date.now() - this.ttlSeconds * 1000, '');
    await redisCall('predictions', () =>
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
    const raw = await redisCall('predictions', () => this.redis.get(this.keys.prediction(id)));
    return toPrediction(view, raw === null ? undefined : (JSON.parse(raw) as PredictionRecord), origin);
  }

  /**
   * One page of the caller's predictions, newest first, from `cursor` (a member, exclusive) on;
   * `next` is the cursor of the following page, if any.
   */
  async list(
    lister: Lister,
    origin: string,
    cursor: string | undefined,
  ): Promise<{ results: ReplicatePrediction[]; next?: string }> {
    const { owner } = lister;
    const list = this.keys.predictions(scopeOf(lister));
    const from = cursor === undefined ? '+' : `(${cursor}`;
    const members = await redisCall('predictions', () =>
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
}
