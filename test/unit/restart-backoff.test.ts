import { describe, expect, it } from 'vitest';
import { RestartBackoff } from '../../src/restart-backoff.js';

describe('RestartBackoff', () => {
  it('doubles the delay with each crash in a row, capped, and gives up at maxCrashes', () => {
    const backoff = new RestartBackoff({ baseMs: 1000, maxCrashes: 6, capMs: 5000 });
    expect([1, 2, 3, 4, 5].map(() => backoff.next(10))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(backoff.next(10)).toBeUndefined();
  });

  it('starts counting again after a run that lasted stableMs', () => {
    const backoff = new RestartBackoff({ baseMs: 100, maxCrashes: 3, stableMs: 60_000 });
    expect(backoff.next(10)).toBe(100);
    expect(backoff.next(10)).toBe(200);
    expect(backoff.next(60_000)).toBe(100);
    expect(backoff.count).toBe(1);
  });
});
