import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { errorTable, queueFull, retryAfterSeconds, retryLater, unavailable } from '../../src/errors.js';
import { jobFailureError, parseJobFailure } from '../../src/queue/job-failure.js';

describe('error table', () => {
  it('has snake_case codes with client (4xx) or server (5xx) statuses', () => {
    for (const [code, { status }] of Object.entries(errorTable)) {
      expect(code).toMatch(/^[a-z_]+$/);
      expect(status >= 400 && status < 600).toBe(true);
    }
  });

  it('documents every code in the README', async () => {
    const readme = await readFile(path.join(projectRoot, 'README.md'), 'utf8');
    for (const code of Object.keys(errorTable)) expect(readme, code).toContain(`\`${code}\``);
  });

  it('builds refusals to retry with Retry-After: the default delay, or the one given, beside other headers', () => {
    const full = queueFull(10, ' (this submission adds 2)');
    expect([full.code, full.status, full.message]).toEqual([
      'queue_full',
      429,
      'the queue holds 10 unfinished jobs (this submission adds 2); retry shortly',
    ]);
    expect(full.headers).toEqual({ 'Retry-After': String(retryAfterSeconds) });
    const busy = unavailable('busy', { retryAfterSeconds: 1, headers: { Location: '/jobs/x' }, expose: true });
    expect([busy.status, busy.expose, busy.headers]).toEqual([503, true, { 'Retry-After': '1', Location: '/jobs/x' }]);
    // A 5xx message stays internal unless the thrower says it was written for clients.
    expect(retryLater('no_worker', 'x').expose).toBe(false);
  });

  it('round-trips typed job failures through the failedReason string, and hides anything else', () => {
    const failure = { code: 'input_missing', message: 'gone', retryable: false } as const;
    const err = jobFailureError(failure);
    expect(err.name).toBe('UnrecoverableError');
    expect(parseJobFailure(err.message)).toEqual(failure);
    expect(jobFailureError({ ...failure, code: 'inference_failed', retryable: true }).name).toBe('Error');
    const hidden = { code: 'internal', message: 'the job failed unexpectedly', retryable: false };
    expect(parseJobFailure('TypeError: x is undefined at /srv/app.js:1')).toEqual(hidden);
    // The old "code: message" strings of earlier versions are not trusted either.
    expect(parseJobFailure('input_missing: gone')).toEqual(hidden);
    expect(parseJobFailure('{"code":"made_up","message":"x","retryable":true}')).toEqual(hidden);
    expect(parseJobFailure('{not json')).toEqual(hidden);
    expect(parseJobFailure(undefined).code).toBe('internal');
  });
});
