import { describe, expect, it } from 'vitest';
import { decodeCrop, encodeCrop } from '../../src/model/crop-codec.js';

const size = 224;
const bytes = size * size * 3;

function gradient(): Buffer {
  const px = Buffer.alloc(bytes);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) px.set([x, y, (x * y) & 255], (y * size + x) * 3);
  return px;
}

function noise(): Buffer {
  const px = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) px[i] = (i * 2654435761) >>> 24;
  return px;
}

describe('crop codec', () => {
  it.each([
    ['smooth', gradient],
    ['noise', noise],
  ])('round-trips a %s crop exactly', async (_name, make) => {
    const pixels = make();
    const stored = await encodeCrop(pixels, size);
    expect((await decodeCrop(stored, size, bytes)).equals(pixels)).toBe(true);
  });

  it('stores a smooth crop in well under the raw 150,528 bytes (Redis keeps a raw one in 160 KiB)', async () => {
    expect((await encodeCrop(gradient(), size)).length).toBeLessThan(64 * 1024);
  });

  it('refuses damaged and oversized input instead of misreading it', async () => {
    const stored = await encodeCrop(gradient(), size);
    await expect(decodeCrop(stored.subarray(0, stored.length >> 1), size, bytes)).rejects.toThrow();
    await expect(decodeCrop(stored, size, bytes - 1)).rejects.toThrow();
  });
});
