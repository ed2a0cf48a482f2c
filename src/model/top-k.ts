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
  const order = Array.from(exp.keys()).sort((a, b) => exp[b]! - exp[a]!);
  return order.slice(0, k).map((classId) => ({
    label: labels[classId] ?? String(classId),
    classId,
    probability: exp[classId]! / sum,
  }));
}
