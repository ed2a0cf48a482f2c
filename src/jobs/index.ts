/**
 * The job service: what the HTTP layer, the entry points and the tests may use. Jobs are
 * submitted, read, cancelled and waited for as views (api/wire.ts), batches through the same
 * store, per model; how they are kept in Redis and BullMQ stays behind these names.
 */
export { connectJobService, type JobService, type ModelToServe } from './job-service.js';
export { redisCall, type JobStore, type Submission, type Submitted } from './job-store.js';
export type { BatchEntry, BatchStore, CreatedBatch } from './batch-store.js';
export type { JobWaiter, ReadView } from './job-waiter.js';
export type { ModelCatalog, ServedModel } from './model-catalog.js';
export { RedisHeadroom } from './redis-headroom.js';
