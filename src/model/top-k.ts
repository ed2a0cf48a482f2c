import type { Prediction } from './prediction.js';

/** Softmax over one row of logits, then the k most probable classes, best first. */
export function topK(logits: Float32Array, labels: readonly string[], k: number): Prediction[] {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const exp = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    exp[i] = Math.exp(logits[i]! - max);
    sum += exp[i]!;
  }
  return bestIndices(exp, k).map((classId) => ({
    label: labels[classId] ?? String(classId),
    classId,
    probability: exp[classId]! / sum,
  }));
}

/**
 * Indices of the k largest values, largest first, ties in index order (what a stable sort of all
 * of them gives). A sorted list of k is kept while scanning once: a full sort of 1000 classes per
 * image showed in the worker's CPU profile, and k is small.
 */
function bestIndices(values: Float64Array, k: number): number[] {
  const n = Math.min(k, values.length);
  if (n <= 0) return [];
  // Past a few dozen, inserting into the list costs more than sorting everything once.
  if (n > 64)
    return Array.from(values.keys())
      .sort((a, b) => values[b]! - values[a]!)
      .slice(0, n);
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (best.length === n && v <= values[best[n - 1]!]!) continue;
    let at = best.length === n ? n - 1 : best.length;
    while (at > 0 && values[best[at - 1]!]! < v) at--;
    if (best.length === n) best.pop();
    best.splice(at, 0, i);
  }
  return best;
}
