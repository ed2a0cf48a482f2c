import type { Prediction } from '../api/wire.js';

/**
 * One block per image: its name, then rank, label and probability, labels padded to one column.
 *
 *   coffee.png
 *     1  espresso   97.12%
 *     2  cup         1.05%
 */
export function predictionTable(file: string, predictions: readonly Prediction[]): string {
  const width = Math.max(...predictions.map((p) => p.label.length), 5);
  const rows = predictions.map(
    (p, i) =>
      `  ${String(i + 1).padStart(2)}  ${p.label.padEnd(width)}  ${(100 * p.probability).toFixed(2).padStart(6)}%`,
  );
  return [file, ...rows].join('\n');
}
