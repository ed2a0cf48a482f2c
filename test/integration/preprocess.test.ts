import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { errorTable } from '../../src/errors.js';
import { ImageError } from '../../src/model/image-error.js';
import { decodeCrop, prepareImage } from '../../src/model/preprocess.js';
import * as fx from '../support/fixtures.js';
import { phonePhoto } from '../../bench/phone-photos.js';

const manifest = { inputSize: 224, resizeShorterTo: 256, resizeKernel: 'linear' as const };
const limits = { maxImagePixels: 50_000_000 };

async function rejection(bytes: Buffer): Promise<ImageError & { status: number }> {
  const err: unknown = await prepareImage(bytes, manifest, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  // The model layer knows no HTTP: the status is the error table's for the code.
  return Object.assign(err as ImageError, { status: errorTable[(err as ImageError).code].status });
}

async function crop(bytes: Buffer): Promise<Buffer> {
  const prepared = await prepareImage(bytes, manifest, limits);
  expect([prepared.width, prepared.height]).toEqual([224, 224]);
  return decodeCrop(prepared.crop, 224);
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('prepareImage rejects bad input with stable codes', () => {
  it.each([
    ['empty file', () => Buffer.alloc(0), 'empty_image', 400],
    ['non-image bytes', () => Buffer.from('this is plainly not an image, just text'), 'invalid_image', 400],
    ['truncated JPEG', fx.truncatedJpeg, 'corrupt_image', 422],
    ['BMP', fx.bmp, 'unsupported_format', 415],
    ['HEIC', fx.heic, 'unsupported_format', 415],
    ['SVG', fx.svg, 'unsupported_format', 415],
    ['PDF', fx.pdf, 'unsupported_format', 415],
    ['ICO (anything else)', fx.ico, 'unsupported_format', 415],
    ['30000x30000 PNG bomb', fx.pngBomb, 'image_too_large', 422],
  ] as const)('%s', async (_name, make, code, status) => {
    const bytes = await make();
    const err = await rejection(bytes);
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    if (code === 'unsupported_format') expect(err.message).toContain('JPEG, PNG, WebP, GIF, AVIF or TIFF');
  });

  it('counts an AVIF 4 times per pixel, since it is decoded at full size (issue 21, F2)', async () => {
    const base = () => sharp({ create: { width: 600, height: 500, channels: 3, background: '#808080' } });
    const small = { maxImagePixels: 1_000_000 };
    // 300,000 pixels: a PNG fits the limit, the same AVIF (1.2 M weighted) does not.
    await expect(prepareImage(await base().png().toBuffer(), manifest, small)).resolves.toBeDefined();
    const err: unknown = await prepareImage(await base().avif().toBuffer(), manifest, small).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'image_too_large' });
    expect((err as Error).message).toContain('the limit is 250000 pixels for avif');
  });

  it('rejects the bomb from its header, without decoding its pixels', async () => {
    const bomb = fx.pngBomb();
    expect(bomb.length).toBeLessThan(64 * 1024);
    const rssBefore = process.memoryUsage().rss;
    await rejection(bomb);
    // Decoding 30000x30000 pixels would take gigabytes.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });
});

describe('prepareImage normalises every accepted variant to a 224x224 sRGB crop', () => {
  it.each([
    ['CMYK JPEG', fx.cmykJpeg],
    ['16-bit PNG', fx.png16],
    ['greyscale', fx.greyscale],
    ['alpha', fx.withAlpha],
    ['animated GIF', fx.animatedGif],
    ['WebP', fx.webp],
    ['animated WebP', fx.animatedWebp],
    ['baseline JPEG', fx.baselineJpeg],
    ['progressive JPEG', fx.progressiveJpeg],
    ['8-bit PNG', fx.png8],
    ['palette PNG', fx.palettePng],
    ['AVIF', fx.avif],
    ['TIFF', fx.tiff],
  ] as const)('%s', async (_name, make) => {
    const pixels = await crop(await make());
    expect(pixels.length).toBe(224 * 224 * 3);
  });

  it('16-bit and CMYK inputs give nearly the same pixels as the 8-bit RGB original', async () => {
    const original = await crop(await fx.coffee());
    expect(meanAbsDiff(await crop(await fx.png16()), original)).toBeLessThan(1);
    expect(meanAbsDiff(await crop(await fx.cmykJpeg()), original)).toBeLessThan(12);
  });

  it('turns an EXIF-rotated photo upright', async () => {
    const original = await crop(await fx.coffee());
    const upright = meanAbsDiff(await crop(await fx.exifRotated()), original);
    const sideways = meanAbsDiff(await crop(await fx.sidewaysNoExif()), original);
    expect(upright).toBeLessThan(6);
    expect(sideways).toBeGreaterThan(4 * upright);
  });

  it('reduces a 12 MP EXIF-rotated phone JPEG to nearly the crop of the photo it was made from', async () => {
    const photo = await fx.coffee();
    expect(meanAbsDiff(await crop(await phonePhoto(photo)), await crop(photo))).toBeLessThan(6);
  });

  it.each([3, 6, 8] as const)('turns a 12 MP phone photo with EXIF orientation %i upright', async (orientation) => {
    const upright = await crop(
      await sharp(await fx.coffee())
        .resize(4032, 3024, { fit: 'cover' })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    const photo = await fx.phonePhoto(orientation);
    const stored = await sharp(photo).metadata();
    expect([stored.width, stored.height, stored.orientation]).toEqual(
      orientation === 3 ? [4032, 3024, 3] : [3024, 4032, orientation],
    );
    const prepared = await prepareImage(photo, manifest, limits);
    expect(prepared.source).toMatchObject({ format: 'jpeg', width: 4032, height: 3024 });
    const pixels = await decodeCrop(prepared.crop, 224);
    const asStored = await crop(
      await sharp(photo).rotate(0).withMetadata({ orientation: 1 }).jpeg({ quality: 90 }).toBuffer(),
    );
    expect(meanAbsDiff(pixels, upright)).toBeLessThan(6);
    expect(meanAbsDiff(asStored, upright)).toBeGreaterThan(4 * meanAbsDiff(pixels, upright));
  });

  it('keeps the first frame of an animated GIF', async () => {
    const gif = await fx.animatedGif();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const first = await crop(
      await sharp(await fx.coffee())
        .resize(256, 256, { fit: 'cover' })
        .png()
        .toBuffer(),
    );
    expect(meanAbsDiff(await crop(gif), first)).toBeLessThan(12);
  });

  it('stores a crop of at most ~150 KB whatever the upload', async () => {
    const noise = Buffer.alloc(1024 * 1024 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const big = await sharp(noise, { raw: { width: 1024, height: 1024, channels: 3 } })
      .png()
      .toBuffer();
    const prepared = await prepareImage(big, manifest, limits);
    expect(prepared.crop.length).toBeLessThan(160 * 1024);
    expect(prepared.source).toMatchObject({ format: 'png', width: 1024, height: 1024, bytes: big.length });
  });
});
