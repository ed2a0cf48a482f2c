import type { Manifest } from '../model/manifest.js';
import type { Precision } from '../model/precision.js';
import { AppError, retryLater } from '../errors.js';
import type { QueueSignals } from '../queue/queue-signals.js';
import type { RedisClient } from '../redis.js';
import { redisCall, type JobStore } from './job-store.js';
import type { JobView } from '../api/wire.js';

/** One model as the API serves it: its preprocessing contract and the store of its queue. */
export interface ServedModel {
  name: string;
  manifest: Manifest;
  /** The manifest's, else read from the model file; undefined on an API host with neither. */
  precision: Promise<Precision | undefined>;
  /** Labels in the model's labels file; undefined when this API host cannot read it. */
  classes: number | undefined;
  /** Submits to, reads from and cancels in this model's queue. */
  store: JobStore;
  /** What operators and autoscalers read of the queue: depth, oldest wait, paused, workers. */
  signals: QueueSignals;
}

/**
 * Every model the API serves, and which one a request means: `pick` resolves the `model` a client
 * named (404 `unknown_model` for others), `forJob` finds the queue a job ID lives in through the
 * job-ID index the stores write at submit (a lookup only when more than one model is served).
 * The names are distinct and `defaultName` is one of them: start-up checked them (checkModelNames).
 */
export class ModelCatalog {
  private readonly byName: ReadonlyMap<string, ServedModel>;
  readonly defaultModel: ServedModel;

  constructor(
    readonly models: readonly ServedModel[],
    defaultName: string | undefined,
    private readonly redis: RedisClient,
    private readonly indexKey: (jobId: string) => string,
  ) {
    this.byName = new Map(models.map((m) => [m.name, m]));
    this.defaultModel = defaultName === undefined ? models[0]! : this.byName.get(defaultName)!;
  }

  /** The model a submission names (a query parameter, form field or JSON property), else the default. */
  pick(name: unknown): ServedModel {
    if (name === undefined || name === '') return this.defaultModel;
    const model = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (!model)
      throw new AppError(
        'unknown_model',
        `model: ${JSON.stringify(name)} is not served here; GET /models lists ${[...this.byName.keys()].join(', ')}`,
      );
    return model;
  }

  /**
   * Whether `model` may take jobs: a live worker has it loaded, or the start-up grace (until
   * `graceUntil`, epoch ms) still runs.
   */
  async isLive(model: ServedModel, graceUntil: number): Promise<boolean> {
    return Date.now() < graceUntil || (await model.store.workerCount()) > 0;
  }

  /**
   * Refuses (503 no_worker) a submission for a model no live worker has loaded, once `graceUntil`
   * (epoch ms) has passed.
   */
  async requireWorker(model: ServedModel, graceUntil: number): Promise<void> {
    if (await this.isLive(model, graceUntil)) return;
    throw retryLater('no_worker', `no worker with the model ${model.name} loaded is running; retry later`, {
      expose: true,
    });
  }

  /** The model whose queue holds job `id`; undefined when the index has no entry (unknown or expired). */
  async forJob(id: string): Promise<ServedModel | undefined> {
    if (this.models.length === 1) return this.defaultModel;
    const name = await redisCall('read', () => this.redis.get(this.indexKey(id)));
    return name === null ? undefined : this.byName.get(name);
  }

  /** The job's view, whatever its model (undefined as for JobStore.get). */
  async getJob(id: string, owner?: string): Promise<JobView | undefined> {
    return (await this.forJob(id))?.store.get(id, owner);
  }

  /**
   * JobStore.completedView in the store of the model the result names (no index lookup); undefined
   * when that model is not served here or the job is gone.
   */
  async completedJob(previous: JobView, returnvalue: unknown): Promise<JobView | undefined> {
    const named = (returnvalue as { model?: unknown } | null)?.model;
    const model = this.models.length === 1 ? this.defaultModel : this.byName.get(String(named));
    return model?.store.completedView(previous, returnvalue);
  }

  async cancelJob(id: string, owner?: string): Promise<JobView | undefined> {
    return (await this.forJob(id))?.store.cancel(id, owner);
  }

  /** The store whose queue is `queueName` (batch entries record it). */
  storeOfQueue(queueName: string | undefined): JobStore | undefined {
    return queueName === undefined
      ? this.defaultModel.store
      : this.models.find((m) => m.store.queueName === queueName)?.store;
  }
}
