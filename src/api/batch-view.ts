import { z } from 'zod';
import { JobStatusSchema, JobViewSchema } from './job-view.js';

/** Batch IDs are random UUIDs, like job IDs. */
export const BatchIdSchema = z.uuid();

/** `queued`: no image has finished yet; `completed`: every image has (some may have failed). */
export const BatchStatusSchema = JobStatusSchema.exclude(['failed']);

/** What GET /batches/:id answers. */
export const BatchViewSchema = z.object({
  id: z.string(),
  status: BatchStatusSchema,
  /** Images in the upload, rejected ones included. */
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  /** Rejected at upload (bad image) or failed in the queue. */
  failed: z.number().int().nonnegative(),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  links: z.object({ self: z.string(), wait: z.string(), results: z.string() }),
});
export type BatchView = z.infer<typeof BatchViewSchema>;

/** One line of GET /batches/:id/results: an image, in upload order. */
export const BatchEntryViewSchema = z.object({
  index: z.number().int().nonnegative(),
  filename: z.string(),
  /** The image's job, when it was accepted. */
  id: z.string().optional(),
  status: JobStatusSchema,
  result: JobViewSchema.shape.result,
  error: JobViewSchema.shape.error,
});
export type BatchEntryView = z.infer<typeof BatchEntryViewSchema>;

