/**
 * The job service: what the HTTP layer, the entry points and the tests may use. Jobs are
 * submitted, read, cancelled and waited for as views (api/wire.ts), batches through the same
 * store, per model; how they are kept in Redis and BullMQ stays behind these names.
 */
export { JobStore, redisCall, retryAfterSeconds, type Submission, type Submitted } from './job-store.js';
export { BatchStore, type BatchEntry, type CreatedBatch } from './batch-store.js';
export { JobWaiter } from './job-waiter.js';
export { ModelCatalog, type ServedModel } from './model-catalog.js';
export { RedisHeadroom } from './redis-headroom.js';
export { startBatchFinisher } from './batch-finisher.js';
