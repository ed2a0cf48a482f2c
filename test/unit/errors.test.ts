import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { errorTable } from '../../src/errors.js';
import { failureReason, parseFailure } from '../../src/jobs.js';

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

  it('round-trips job failure reasons, and hides unknown ones', () => {
    expect(parseFailure(failureReason('input_missing', 'gone'))).toEqual({ code: 'input_missing', message: 'gone' });
    expect(parseFailure('TypeError: x is undefined at /srv/app.js:1')).toEqual({ code: 'internal', message: 'the job failed unexpectedly' });
    expect(parseFailure(undefined).code).toBe('internal');
  });
});
