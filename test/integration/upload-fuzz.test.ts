import { describe, expect, it } from 'vitest';
import { errorTable } from '../../src/errors.js';
import { ImageError } from '../../src/model/image-error.js';
import { prepareImage } from '../../src/model/preprocess.js';
import { fuzzCases } from '../support/fuzz-cases.js';
import { narrate } from '../support/narrate.js';

const manifest = { inputSize: 224, resizeShorterTo: 256, resizeKernel: 'linear' as const };
const limits = { maxImagePixels: 50_000_000 };

describe('upload fuzzing of the preprocessing path', () => {
  it('3000 hostile inputs: each a 224x224 crop or a 4xx ImageError, nothing else escapes; memory bounded', async () => {
    const cases = await fuzzCases(3000, 0x5eed);
    const outcomes = new Map<string, number>();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    for (const { name, bytes } of cases) {
      let outcome: string;
      try {
        const prepared = await prepareImage(bytes, manifest, limits);
        expect([prepared.width, prepared.height], name).toEqual([224, 224]);
        outcome = 'accepted';
      } catch (err) {
        expect(err, name).toBeInstanceOf(ImageError);
        expect(errorTable[(err as ImageError).code].status, name).toBeLessThan(500);
        outcome = (err as ImageError).code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const peakMiB = Math.round((peakRss - rssBefore) / 2 ** 20);
    narrate(`fuzz outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}, peak RSS +${peakMiB} MiB\n`);
    // The mix must exercise both sides: some mutated images still decode, most are refused.
    expect(outcomes.get('accepted') ?? 0).toBeGreaterThan(50);
    expect(outcomes.get('invalid_image') ?? 0).toBeGreaterThan(50);
    expect(outcomes.get('corrupt_image') ?? 0).toBeGreaterThan(50);
    expect(peakRss - rssBefore).toBeLessThan(512 * 2 ** 20);
  });
});
