import { createHash, randomUUID } from 'node:crypto';
import {
  Job,
  type FlowNestedLeafJob,
  type FlowParentJob,
  type FlowProducer,
  type JobState,
  type JobType,
  type Queue,
} from 'bullmq';
import { AppError, storeUnavailable, unavailable } from '../errors.js';
import type { RedisClient } from '../redis.js';
import type { PreparedImage } from '../model/preprocess.js';
import type { InputStore } from '../queue/input-store.js';
import {
  bullmqPriority,
  JobIdSchema,
  jobName,
  type JobData,
  type JobResult,
  type Priority,
} from '../queue/job-schemas.js';
import type { QueueKeys } from '../queue/keys.js';
import { queueDepth, queueDepthStates } from '../queue/queue-depth.js';
import type { WorkerPresence } from '../queue/worker-presence.js';
import { eventDelivery, withDelivery, type DeliveryData, type WebhookRoute } from '../webhook/webhook-queue.js';
import { readJobHash, toJobView } from './job-view.js';
import { QueueAdmission } from './queue-admission.js';
import { JobViewSchema, type JobView } from '../api/wire.js';

/** Redis failures on a request path become a 503 with Retry-After, never a hang or a 500. */
export async function redisCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw storeUnavailable(what, err);
  }
}

/**
 * A job's hash and the one state a view tells apart (finished, failed, held by a worker, or else
 * waiting in some form), in one step: one round trip instead of BullMQ's state script and a second
 * read, and the state and the hash can never disagree. Checked in the order a job moves through
 * them, stopping at the first that holds (a finished job costs the hash and one ZSCORE).
 * KEYS: the job's hash, completed, failed, active. ARGV: the job ID. Returns {state, HGETALL}.
 */
export const jobViewScript = `
local hash = redis.call('HGETALL', KEYS[1])
if #hash == 0 then return {'unknown', hash} end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return {'completed', hash} end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return {'failed', hash} end
if redis.call('LPOS', KEYS[4], ARGV[1]) then return {'active', hash} end
return {'waiting', hash}
`;

export interface JobStoreOptions {
  queueName: string;
  keys: QueueKeys;
  inputs: InputStore;
  workers: WorkerPresence;
  /** How long idempotency keys and cancelled-job records are kept (the result TTL), seconds. */
  resultTtlSeconds: number;
  /** Unfinished jobs admitted at most (QueueAdmission), 0 = unlimited. */
  maxQueueDepth: number;
  /** Where webhook deliveries are queued; without it a submission with a webhook is an error. */
  webhooks?: WebhookRoute;
  /**
   * The job-ID index that lets GET /jobs/:id find this queue among several models': `key(id)` is
   * set to `model` for `ttlSeconds` (as long as any job is kept) when the job's input is stored.
   */
  index?: { key: (jobId: string) => string; model: string; ttlSeconds: number };
  /** Replicas that must hold a submission before it is acknowledged (Redis WAIT); 0 = none. Default 0. */
  durableReplicas?: number;
  /** Longest to wait for them, ms; fewer acknowledgements by then answer 503. Default 2000. */
  durableTimeoutMs?: number;
}

export interface Submission {
  topk: number;
  deadlineAt?: number;
  /** Who may read the job back (see Caller); undefined when the API is open. */
  owner?: string;
  /**
   * The client's address (ctx.ip, which honours TRUST_PROXY): scopes its Idempotency-Key when
   * the API is open (no owner), so one client's key never returns another's job.
   */
  client?: string;
  /** The client's Idempotency-Key header. */
  idempotencyKey?: string;
  /** Default `interactive`. */
  priority?: Priority;
  /** Keep the model's whole output (logits) in the result too: /v2 infer returns it. */
  logits?: boolean;
  /** A checked URL to POST the finished job to (see resolveWebhookTarget). */
  webhook?: string;
  /**
   * How the webhook reports; default: one job message once the job has finished. Otherwise the
   * messages' subject and the origin their URLs use, whether the final message is sent, and the
   * body of a `start` message (fixed at submit from the job's ID and creation time, sent at once).
   */
  webhookEvents?: {
    subject: 'prediction';
    origin: string;
    completed: boolean;
    start?: (id: string, createdAt: Date) => string;
  };
}

/** A batch image whose crop is stored under `jobId` (storeInput). */
export interface BatchJobEntry {
  jobId: string;
  image: Pick<PreparedImage, 'width' | 'height' | 'source'>;
}

/** The job name of a batch's parent, in the batch queue (see batchQueueName). */
const batchJobName = 'batch';

export interface Submitted {
  view: JobView;
  /** True when an earlier submission with the same Idempotency-Key was returned instead. */
  replayed: boolean;
}

/**
 * What an Idempotency-Key is stored under: the key scoped to its caller (the owner id, else the
 * client's address), so one caller's key never returns another's submission.
 */
export function idempotencyDigest(submission: Pick<Submission, 'owner' | 'client'>, idempotencyKey: string): string {
  const scope = submission.owner !== undefined ? `owner:${submission.owner}` : `client:${submission.client ?? ''}`;
  return createHash('sha256').update(`${scope}\n${idempotencyKey}`).digest('hex');
}

/** Submits, reads and cancels jobs as JobViews; the API's only path to the queue. */
export class JobStore {
  private readonly admission: QueueAdmission;

  constructor(
    private readonly queue: Queue<JobData, JobResult>,
    private readonly redis: RedisClient,
    private readonly options: JobStoreOptions,
    /** Adds a job together with its webhook delivery, and batches with their jobs. */
    private readonly flows?: FlowProducer,
  ) {
    this.admission = new QueueAdmission(queue, redis, options.keys.admissions, options.maxQueueDepth);
  }

  /**
   * Stores the crop, then adds the job. If the add fails the crop is deleted (best effort; its
   * TTL bounds it otherwise), so an answered 202 always means a job exists. With an idempotency
   * key, the first submission claims the key atomically (SET NX) and later ones get its job;
   * the key is scoped to the caller (its owner id, else its address). The job is admitted under
   * MAX_QUEUE_DEPTH atomically (429 queue_full otherwise) just before its crop is stored.
   */
  async submit(image: PreparedImage, submission: Submission): Promise<Submitted> {
    const { keys, inputs, resultTtlSeconds } = this.options;
    return redisCall('submit', async () => {
      const id = randomUUID();
      if (submission.idempotencyKey !== undefined) {
        const key = keys.idempotency(idempotencyDigest(submission, submission.idempotencyKey));
        const claimed = await this.redis.set(key, id, 'EX', resultTtlSeconds, 'NX');
        if (claimed !== 'OK') {
          const earlier = await this.earlierJob(key, submission.owner);
          if (earlier) {
            // The earlier attempt may have been answered 503 for want of replicas: the replay is
            // acknowledged on the same terms, or a 200 could name a job the next master lacks.
            await this.replicated({ kind: 'job', id: earlier.id });
            return { view: earlier, replayed: true };
          }
          // The earlier job expired or its submission failed: take the key over.
          await this.redis.set(key, id, 'EX', resultTtlSeconds);
        }
      }
      let job: Job<JobData, JobResult> | undefined;
      await this.admitted([id], async () => {
        try {
          await this.storeWithIndex(id, image.crop);
          const node = this.jobNode(id, image, submission);
          job = submission.webhook
            ? await this.addWithDelivery(id, node, submission.webhook, submission)
            : await this.queue.add(jobName, node.data as JobData, node.opts);
        } catch (err) {
          // Awaited but not fatal: if Redis is gone too, the workers' sweep removes the input later.
          await inputs.delete(id).catch(() => undefined);
          throw err;
        }
      });
      await this.replicated({ kind: 'job', id });
      return { view: toJobView(job!, 'waiting'), replayed: false };
    });
  }

  /**
   * Adds the job under its webhook delivery (a flow: BullMQ starts the delivery once the job has
   * finished). A `start` event is a delivery of its own, queued at once, and a child of the final
   * one, so a receiver never gets `completed` before `start`.
   */
  private async addWithDelivery(
    id: string,
    node: FlowNestedLeafJob & { data: JobData },
    url: string,
    submission: Submission,
  ): Promise<Job<JobData, JobResult>> {
    const route = this.webhooks();
    const events = submission.webhookEvents;
    const message: Omit<DeliveryData, 'body'> = {
      url,
      subject: events?.subject ?? 'job',
      id,
      queue: node.queueName,
      owner: submission.owner,
      origin: events?.origin,
    };
    const start = events?.start && eventDelivery(message, 'start', events.start(id, new Date()), route);
    if (events && !events.completed) {
      const added = await this.queue.add(jobName, node.data as JobData, node.opts);
      if (start) await this.flowProducer().add(start);
      return added;
    }
    const tree = await this.flowProducer().add(withDelivery(node, message, route, start ? [start] : []));
    return tree.children![0]!.job as Job<JobData, JobResult>;
  }

  /**
   * Runs `add` once the jobs `ids` are admitted under MAX_QUEUE_DEPTH, together and atomically
   * (429 queue_full otherwise). Added (BullMQ's keys count them now) or failed, the reservation
   * is done either way.
   */
  private async admitted(ids: readonly string[], add: () => Promise<void>): Promise<void> {
    const reservation = await redisCall('admit', () => this.admission.reserve(ids));
    try {
      await add();
    } finally {
      await reservation.release();
    }
  }

  /**
   * Adds a batch: a parent job `batch.id` in `batch.queueName` whose children are a job per
   * entry (each entry's crop already stored by storeInput), all in one flow; with a webhook the
   * batch is the child of its delivery. The children are admitted under MAX_QUEUE_DEPTH
   * together. Acknowledge it with `replicated` once the caller has what it needs kept.
   */
  async submitBatch(
    batch: { id: string; queueName: string; keepSeconds: number; entries: readonly BatchJobEntry[] },
    submission: Submission,
  ): Promise<void> {
    const children = batch.entries.map((e) => {
      const node = this.jobNode(e.jobId, e.image, submission);
      return { ...node, opts: { ...node.opts, ignoreDependencyOnFailure: true } };
    });
    const keep = { age: batch.keepSeconds };
    const parent: FlowParentJob = {
      name: batchJobName,
      queueName: batch.queueName,
      data: { owner: submission.owner },
      opts: { jobId: batch.id, removeOnComplete: keep, removeOnFail: keep },
      children,
    };
    const { webhook, owner } = submission;
    await redisCall('batch', () =>
      this.admitted(
        batch.entries.map((e) => e.jobId),
        async () => {
          const flow = webhook
            ? withDelivery(
                parent,
                { url: webhook, subject: 'batch', id: batch.id, queue: batch.queueName, owner },
                this.webhooks(),
              )
            : parent;
          await this.flowProducer().add(flow);
        },
      ),
    );
  }

  /** The queue this store submits to (one model's, once several are served). */
  get queueName(): string {
    return this.options.queueName;
  }

  /**
   * Stores a batch entry's crop under a new job ID, before its job exists (a batch adds all its
   * jobs at once when the upload ends). Undone by discardInputs if the batch is abandoned.
   */
  storeInput(image: PreparedImage): Promise<string> {
    return redisCall('submit', async () => {
      const id = randomUUID();
      await this.storeWithIndex(id, image.crop);
      return id;
    });
  }

  private async storeWithIndex(id: string, crop: Buffer): Promise<void> {
    const { index, inputs } = this.options;
    // Sent together: the auto-pipelining connection writes both in one round trip.
    await Promise.all([
      index && this.redis.set(index.key(id), index.model, 'EX', index.ttlSeconds),
      inputs.put(id, crop),
    ]);
  }

  async discardInputs(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.options.inputs.delete(id))).catch(() => undefined);
  }

  /** The job as a node of a BullMQ flow (under a webhook delivery or a batch), with the queue's own job options. */
  private jobNode(
    id: string,
    image: Pick<PreparedImage, 'width' | 'height' | 'source'>,
    submission: Submission,
  ): FlowNestedLeafJob & { data: JobData } {
    const data: JobData = {
      topk: submission.topk,
      input: { width: image.width, height: image.height },
      source: image.source,
      deadlineAt: submission.deadlineAt,
      owner: submission.owner,
      logits: submission.logits,
    };
    const opts = {
      ...this.queue.defaultJobOptions,
      jobId: id,
      priority: bullmqPriority[submission.priority ?? 'interactive'],
    };
    return { name: jobName, queueName: this.options.queueName, data, opts };
  }

  private flowProducer(): FlowProducer {
    if (!this.flows) throw new Error('JobStore was built without a FlowProducer');
    return this.flows;
  }

  /** Where deliveries go; a 400 when this service has no WEBHOOK_SECRET. */
  private webhooks(): WebhookRoute {
    if (!this.options.webhooks)
      throw new AppError('invalid_request', 'webhook: webhooks are not configured on this service (WEBHOOK_SECRET)');
    return this.options.webhooks;
  }

  /**
   * With durable submits, waits until `durableReplicas` replicas hold every write made so far on
   * this connection (the queue shares it, so the input, the job and the idempotency key are all
   * covered): Redis replication is asynchronous, and a 202 answered before a replica has the job
   * can be lost when Sentinel promotes that replica. Too few acknowledgements answer 503, but the
   * job `id` is not withdrawn: it was accepted and runs unless a failover loses it (withdrawing
   * could race a worker that already took it). So the 503 names it, in its message and as
   * Location: the client follows that job, or retries with the same Idempotency-Key to get it.
   * BatchStore calls it for batches too (they share the connection), naming the batch instead.
   */
  async replicated(subject: { kind: 'job' | 'batch'; id: string }): Promise<void> {
    const replicas = this.options.durableReplicas ?? 0;
    if (replicas === 0) return;
    const timeoutMs = this.options.durableTimeoutMs ?? 2000;
    const acknowledged = Number(await this.redis.call('WAIT', replicas, timeoutMs));
    if (acknowledged < replicas) {
      const { kind, id } = subject;
      const location = `/${kind}s/${id}`;
      throw unavailable(
        `${kind} ${id} was accepted but not yet replicated to ${replicas} replica(s) within ${timeoutMs} ms: ` +
          `it may still run and could be lost in a failover; follow ${location}, ` +
          'or retry with the same Idempotency-Key (a retry without one runs the images again)',
        { headers: { Location: location }, expose: true },
      );
    }
  }

  /** The job's current view, or undefined when the ID is malformed, unknown, expired or not the caller's. */
  async get(id: string, owner?: string): Promise<JobView | undefined> {
    if (!JobIdSchema.safeParse(id).success) return undefined;
    return redisCall('read', async () => {
      const { keys } = this.options;
      const [state, fields] = (await this.redis.eval(
        jobViewScript,
        4,
        keys.job(id),
        keys.completed,
        keys.failed,
        this.queue.keys.active!,
        id,
      )) as [JobState | 'unknown', string[]];
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) hash[fields[i]!] = fields[i + 1]!;
      const read = readJobHash(id, hash);
      if (state === 'unknown' || !read) return this.cancelled(id, owner);
      if (read.owner !== owner) return undefined;
      return toJobView(read.job, state);
    });
  }

  /**
   * The finished view of a job completed since `previous` was read (by `get`, so the job exists
   * and is the caller's), from its completed event's return value: one HMGET adds the two
   * timestamps the event lacks, instead of a whole read of the job, so the view is the one `get`
   * gives. Undefined when the job's hash is gone meanwhile (then `get` tells what became of it).
   */
  async completedView(previous: JobView, returnvalue: unknown): Promise<JobView | undefined> {
    return redisCall('read', async () => {
      const { id } = previous;
      const [processedOn, finishedOn] = await this.redis.hmget(this.options.keys.job(id), 'processedOn', 'finishedOn');
      if (!finishedOn) return undefined;
      const job = {
        id,
        timestamp: Date.parse(previous.createdAt),
        processedOn: processedOn ? Number(processedOn) : undefined,
        finishedOn: Number(finishedOn),
        failedReason: '',
        returnvalue,
      };
      return toJobView(job, 'completed');
    });
  }

  /**
   * Cancels a queued job: it is removed from the queue and its final view (failed, code
   * `cancelled`) is kept for the result TTL. Active or finished jobs answer `not_cancellable`.
   */
  async cancel(id: string, owner?: string): Promise<JobView | undefined> {
    const view = await this.get(id, owner);
    if (!view) return undefined;
    if (view.status !== 'queued') throw new AppError('not_cancellable', `job ${id} is already ${view.status}`);
    return redisCall('cancel', async () => {
      const cancelled: JobView = {
        ...view,
        status: 'failed',
        finishedAt: new Date().toISOString(),
        error: { code: 'cancelled', message: 'cancelled by the client before it started' },
      };
      // The record is written before the removal, so a waiter woken by the 'removed' event finds it.
      const record = this.options.keys.cancelled(id);
      const value = JSON.stringify({ owner, view: cancelled });
      const ttl = this.options.resultTtlSeconds;
      await this.redis.set(record, value, 'EX', ttl);
      // remove() refuses a job a worker has locked meanwhile: then it is active, not cancellable.
      if ((await this.queue.remove(id)) !== 1) {
        await this.redis.del(record);
        throw new AppError('not_cancellable', `job ${id} has just started`);
      }
      // The terminal record and the input's deletion in one step: nobody sees one without the other.
      await this.options.inputs.deleteIn(this.redis.multi().set(record, value, 'EX', ttl), id).exec();
      return cancelled;
    });
  }

  /** The queue depth (queue-depth.ts): the backlog MAX_QUEUE_DEPTH bounds. */
  async depth(): Promise<number> {
    return queueDepth(await this.jobCounts(queueDepthStates));
  }

  /** How many jobs are in each of `states` right now (every state present, 0 when empty). */
  jobCounts<S extends JobType>(states: readonly S[]): Promise<Record<S, number>> {
    return redisCall('counts', async () => {
      const counts = await this.queue.getJobCounts(...states);
      return Object.fromEntries(states.map((s) => [s, counts[s] ?? 0])) as Record<S, number>;
    });
  }

  /** Live workers that have announced a loaded model. */
  workerCount(): Promise<number> {
    return redisCall('workers', () => this.options.workers.count());
  }

  /**
   * The job an idempotency key points at. A concurrent first submission may hold the key for a
   * few ms before its job exists, so an absent job is looked for again briefly before giving up.
   */
  private async earlierJob(key: string, owner?: string): Promise<JobView | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const earlier = await this.redis.get(key);
      const view = earlier ? await this.get(earlier, owner) : undefined;
      if (view || !earlier) return view;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  }

  private async cancelled(id: string, owner?: string): Promise<JobView | undefined> {
    const raw = await this.redis.get(this.options.keys.cancelled(id));
    if (!raw) return undefined;
    const record = JSON.parse(raw) as { owner?: string; view: unknown };
    return record.owner === owner ? JobViewSchema.parse(record.view) : undefined;
  }
}
