import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const ClassIndexSchema = z.record(z.string().regex(/^\d+$/), z.tuple([z.string(), z.string()]));

/** Reads a Keras class index and returns the label of each output position, in order. */
export async function loadLabels(file: string): Promise<string[]> {
  const parsed = ClassIndexSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) throw new Error(`invalid labels file ${file}: expected {"0": ["wnid", "label"], ...}`);
  const labels: string[] = [];
  for (const [index, [, label]] of Object.entries(parsed.data)) labels[Number(index)] = label;
  if (labels.length === 0 || labels.some((l) => l === undefined) || Object.keys(parsed.data).length !== labels.length) {
    throw new Error(`invalid labels file ${file}: indices must run 0..N-1 without gaps`);
  }
  return labels;
}
