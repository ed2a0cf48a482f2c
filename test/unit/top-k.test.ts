import { describe, expect, it } from 'vitest';
import { topK } from '../../src/model/top-k.js';
import { preferWaitSeconds } from '../../src/api/params.js';

describe('topK', () => {
  it('returns softmax probabilities of the k best classes, best first', () => {
    const logits = new Float32Array([1, 3, 2, 1000 - 1000]);
    const top = topK(logits, ['a', 'b', 'c', 'd'], 2);
    expect(top.map((p) => p.label)).toEqual(['b', 'c']);
    expect(top.map((p) => p.classId)).toEqual([1, 2]);
    const all = topK(logits, ['a', 'b', 'c', 'd'], 4);
    expect(all.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 6);
    expect(top[0]!.probability).toBeCloseTo(Math.exp(3) / (Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0)), 6);
  });

  it('is stable for large logits', () => {
    const top = topK(new Float32Array([1000, 999]), ['x', 'y'], 1);
    expect(top[0]!.probability).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });
});

describe('preferWaitSeconds', () => {
  it('reads wait=S among other preferences and ignores the rest', () => {
    expect(preferWaitSeconds('wait=10')).toBe(10);
    expect(preferWaitSeconds('respond-async, wait=5')).toBe(5);
    expect(preferWaitSeconds('return=minimal')).toBeUndefined();
    expect(preferWaitSeconds('wait=abc')).toBeUndefined();
    expect(preferWaitSeconds('')).toBeUndefined();
  });
});
