import { describe, expect, it } from 'vitest';
import { toPrediction } from '../../src/api/replicate/prediction-view.js';
import { webhookMessage } from '../../src/api/webhook-message.js';
import type { BatchView, JobView } from '../../src/api/wire.js';

const at = new Date('2026-12-04T12:00:00.000Z');
const job = (status: JobView['status']): JobView => ({
  id: 'j1',
  status,
  createdAt: '2026-12-04T11:59:59.000Z',
  finishedAt: status === 'failed' ? '2026-12-04T12:00:00.000Z' : undefined,
  error: status === 'failed' ? { code: 'cancelled', message: 'cancelled by its client' } : undefined,
  links: { self: '/jobs/j1', wait: '/jobs/j1/wait' },
});
const batch = (status: BatchView['status']): BatchView => ({
  id: 'b1',
  status,
  total: 2,
  completed: status === 'completed' ? 1 : 0,
  failed: status === 'completed' ? 1 : 0,
  createdAt: '2026-12-04T11:59:59.000Z',
  links: { self: '/batches/b1', wait: '/batches/b1/wait', results: '/batches/b1/results' },
});

describe('webhookMessage', () => {
  it('wraps a finished job or batch in the published envelope, and sends a prediction as itself', () => {
    expect(webhookMessage('job', job('failed'), at)).toEqual({
      type: 'job.failed',
      timestamp: '2026-12-04T12:00:00.000Z',
      data: job('failed'),
    });
    expect(webhookMessage('batch', batch('completed'), at)).toMatchObject({ type: 'batch.completed' });
    const prediction = toPrediction(job('failed'), undefined, 'http://127.0.0.1:5000');
    expect(webhookMessage('prediction', prediction, at)).toEqual({ ...prediction, status: 'canceled' });
  });

  it('refuses a view its schema does not describe, rather than send an undocumented message', () => {
    expect(() => webhookMessage('job', job('active'), at)).toThrow(/job\.completed/);
    expect(() => webhookMessage('batch', batch('queued'), at)).toThrow(/batch\.completed/);
    expect(() => webhookMessage('prediction', job('completed'), at)).toThrow();
  });
});
