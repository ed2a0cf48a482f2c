import { createHash, randomUUID } from 'node:crypto';
import { retryLater } from '../../errors.js';
import type { QueueKeys } from '../../queue/keys.js';
import type { RedisClient } from '../../redis.js';
import { redisCall } from '../../jobs/index.js';

/** What is kept of a file beside its bytes. */
interface FileMeta {
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  metadata: Record<string, unknown>;
  createdAt: string;
  expiresAt: string;
  /** The API key that uploaded it; undefined when the API is open. */
  owner?: string;
}

export interface StoredFile extends FileMeta {
  id: string;
}

const fileIdPattern = /^[0-9a-f-]{36}$/;

/**
 * Files uploaded through POST /v1/files (the SDK uploads every Buffer or Blob input this way
 * first): one Redis hash per file with its bytes and metadata, kept as long as results
 * (RESULT_TTL_SECONDS), readable only by the key that uploaded it. Sizes are bounded by the
 * upload limit before anything is stored, and their number per key by `maxFiles`, so the memory
 * files take is bounded as queued inputs are.
 */
export class FileStore {
  constructor(
    private readonly redis: RedisClient,
    /** The namespace's keys (QUEUE_NAME). */
    private readonly keys: QueueKeys,
    private readonly ttlSeconds: number,
    /** Files one key (or the open API as a whole) may hold at once (MAX_QUEUE_DEPTH); 0 = unlimited. */
    private readonly maxFiles: number,
  ) {}

  async create(
    bytes: Buffer,
    file: Pick<FileMeta, 'name' | 'contentType' | 'metadata' | 'owner'>,
  ): Promise<StoredFile> {
    const id = randomUUID();
    const now = Date.now();
    const meta: FileMeta = {
      ...file,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.ttlSeconds * 1000).toISOString(),
    };
    const key = this.keys.file(id);
    const held = this.keys.files(file.owner ?? 'open');
    const expiresMs = now + this.ttlSeconds * 1000;
    // Counted after adding, in one MULTI: concurrent uploads cannot all see room that only one has.
    const replies = await redisCall('files', () =>
      this.redis
        .multi()
        .zremrangebyscore(held, '-inf', now)
        .zadd(held, expiresMs, id)
        .expire(held, this.ttlSeconds)
        .zcard(held)
        .exec(),
    );
    const count = Number(replies?.[3]?.[1] ?? 0);
    if (this.maxFiles > 0 && count > this.maxFiles) {
      await redisCall('files', () => this.redis.zrem(held, id));
      throw retryLater(
        'rate_limited',
        `${this.maxFiles} files are already stored for this key (MAX_QUEUE_DEPTH): delete some, or retry once ` +
          'they expire',
        { retryAfterSeconds: this.ttlSeconds },
      );
    }
    await redisCall('files', () =>
      this.redis.multi().hset(key, 'meta', JSON.stringify(meta), 'content', bytes).expire(key, this.ttlSeconds).exec(),
    );
    return { id, ...meta };
  }

  /** The file's metadata, or undefined when it is unknown, expired, deleted or another key's. */
  async get(id: string, owner: string | undefined): Promise<StoredFile | undefined> {
    if (!fileIdPattern.test(id)) return undefined;
    const raw = await redisCall('files', () => this.redis.hget(this.keys.file(id), 'meta'));
    if (raw === null) return undefined;
    const meta = JSON.parse(raw) as FileMeta;
    return meta.owner === owner ? { id, ...meta } : undefined;
  }

  /** The file's bytes, on the same terms as get. */
  async content(id: string, owner: string | undefined): Promise<Buffer | undefined> {
    if (!(await this.get(id, owner))) return undefined;
    return (await redisCall('files', () => this.redis.hgetBuffer(this.keys.file(id), 'content'))) ?? undefined;
  }

  /** Deletes the file; false when there was none the caller may see. */
  async delete(id: string, owner: string | undefined): Promise<boolean> {
    if (!(await this.get(id, owner))) return false;
    await redisCall('files', () =>
      this.redis
        .multi()
        .del(this.keys.file(id))
        .zrem(this.keys.files(owner ?? 'open'), id)
        .exec(),
    );
    return true;
  }
}
