import sharp from 'sharp';
import { coffee, pngBomb } from './fixtures.js';
import { image } from './http.js';

/** mulberry32: a seeded PRNG, so a failing case can be reproduced from its index. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzCase {
  name: string;
  bytes: Buffer;
}

async function seeds(): Promise<FuzzCase[]> {
  const base = await coffee();
  const small = await sharp(base).resize(96).toBuffer();
  return [
    { name: 'jpeg', bytes: await sharp(small).jpeg().toBuffer() },
    { name: 'png', bytes: await sharp(small).png().toBuffer() },
    { name: 'webp', bytes: await sharp(small).webp().toBuffer() },
    { name: 'gif', bytes: await sharp(small).gif().toBuffer() },
    { name: 'orange.jpg', bytes: await image('orange.jpg') },
  ];
}

/** Edge cases that are not random: extreme geometry and lying headers. */
async function edges(): Promise<FuzzCase[]> {
  const solid = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
  return [
    { name: '1x1', bytes: await solid(1, 1) },
    { name: '65535x1 strip', bytes: await solid(65535, 1) },
    { name: '1x65535 strip', bytes: await solid(1, 65535) },
    { name: '65535x8 strip', bytes: await solid(65535, 8) },
    { name: '0x0 png header', bytes: pngBomb(0) },
    { name: '65535x65535 png header', bytes: pngBomb(65535) },
    { name: '30000x30000 png header', bytes: pngBomb(30000) },
    { name: '8000x8000 png header (under the limit, no pixel data)', bytes: pngBomb(7000) },
    { name: 'empty', bytes: Buffer.alloc(0) },
    { name: 'one byte', bytes: Buffer.from([0xff]) },
    { name: 'jpeg magic only', bytes: Buffer.from([0xff, 0xd8, 0xff]) },
    { name: 'png magic only', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
    { name: 'RIFF WEBP magic only', bytes: Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1') },
    { name: 'GIF magic only', bytes: Buffer.from('GIF89a', 'latin1') },
  ];
}

/**
 * `count` inputs: the edge cases, then random bytes, then real JPEG/PNG/WebP/GIF files with
 * header bytes flipped, random bytes overwritten, or the tail cut off.
 */
export async function fuzzCases(count: number, seed: number): Promise<FuzzCase[]> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const bases = await seeds();
  const cases = await edges();
  for (let i = cases.length; i < count; i++) {
    const kind = random();
    if (kind < 0.15) {
      const bytes = Buffer.alloc(Math.floor(random() * 4096));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      cases.push({ name: `#${i} random ${bytes.length} bytes`, bytes });
      continue;
    }
    const base = pick(bases);
    const bytes = Buffer.from(base.bytes);
    if (kind < 0.55) {
      const flips = 1 + Math.floor(random() * 8);
      for (let f = 0; f < flips; f++)
        bytes[Math.floor(random() * Math.min(bytes.length, 512))] = Math.floor(random() * 256);
      cases.push({ name: `#${i} ${base.name} header x${flips}`, bytes });
    } else if (kind < 0.85) {
      const flips = 1 + Math.floor(random() * 32);
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      cases.push({ name: `#${i} ${base.name} body x${flips}`, bytes });
    } else {
      const cut = Math.floor(random() * bytes.length);
      cases.push({ name: `#${i} ${base.name} cut at ${cut}`, bytes: bytes.subarray(0, cut) });
    }
  }
  return cases;
}
