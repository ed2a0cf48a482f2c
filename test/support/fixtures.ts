import { deflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';
import { image } from './http.js';

/** Variants of the shared photos, made in code so each fixture's intent is visible. */

export const coffee = () => image('coffee.png');

export async function truncatedJpeg(): Promise<Buffer> {
  const jpeg = await sharp(await coffee())
    .jpeg()
    .toBuffer();
  return jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
}

export async function tiff(): Promise<Buffer> {
  return sharp(await coffee())
    .tiff()
    .toBuffer();
}

export function svg(): Buffer {
  return Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300">' +
      '<rect width="300" height="300" fill="red"/></svg>',
  );
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG whose header says 30000 x 30000 (900 Mpx), carrying a few KB of compressed rows. */
export function pngBomb(side = 30_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(0, 9); // greyscale
  const rows = deflateSync(Buffer.alloc(64 * (side + 1)), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', rows),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Two frames, coffee then orange: classification must come from the first. */
export async function animatedGif(): Promise<Buffer> {
  const frame = (b: Buffer) => sharp(b).resize(256, 256, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  const frames = Buffer.concat([await frame(await coffee()), await frame(await image('orange.jpg'))]);
  return sharp(frames, { raw: { width: 256, height: 512, channels: 3, pageHeight: 256 } })
    .gif()
    .toBuffer();
}

export async function cmykJpeg(): Promise<Buffer> {
  return sharp(await coffee())
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toBuffer();
}

export async function png16(): Promise<Buffer> {
  return sharp(await coffee())
    .toColourspace('rgb16')
    .png()
    .toBuffer();
}

export async function greyscale(): Promise<Buffer> {
  return sharp(await coffee())
    .greyscale()
    .png()
    .toBuffer();
}

export async function withAlpha(): Promise<Buffer> {
  return sharp(await coffee())
    .ensureAlpha(0.5)
    .png()
    .toBuffer();
}

/**
 * The photo stored turned a quarter to the left, with EXIF orientation 6 ("turn 90° clockwise to
 * display"): upright only for a reader that honours EXIF.
 */
export async function exifRotated(): Promise<Buffer> {
  return sharp(
    await sharp(await coffee())
      .rotate(270)
      .jpeg({ quality: 95 })
      .toBuffer(),
  )
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** The same rotated pixels with no orientation tag: what a reader that ignores EXIF would see. */
export async function sidewaysNoExif(): Promise<Buffer> {
  return sharp(await coffee())
    .rotate(270)
    .jpeg({ quality: 95 })
    .toBuffer();
}

export async function webp(): Promise<Buffer> {
  return sharp(await coffee())
    .webp({ quality: 90 })
    .toBuffer();
}

/** Baseline and progressive JPEG, 8-bit and palette PNG: the common encodings of each format. */
export const baselineJpeg = async () =>
  sharp(await coffee())
    .jpeg({ quality: 90 })
    .toBuffer();
export const progressiveJpeg = async () =>
  sharp(await coffee())
    .jpeg({ quality: 90, progressive: true })
    .toBuffer();
export const png8 = async () =>
  sharp(await coffee())
    .png()
    .toBuffer();
export const palettePng = async () =>
  sharp(await coffee())
    .png({ palette: true, colours: 256 })
    .toBuffer();
export const avif = async () =>
  sharp(await coffee())
    .avif({ quality: 70 })
    .toBuffer();

/** Two frames, coffee then orange, as an animated WebP: classification must come from the first. */
export async function animatedWebp(): Promise<Buffer> {
  const frame = (b: Buffer) => sharp(b).resize(256, 256, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  const frames = Buffer.concat([await frame(await coffee()), await frame(await image('orange.jpg'))]);
  return sharp(frames, { raw: { width: 256, height: 512, channels: 3, pageHeight: 256 } })
    .webp({ quality: 90 })
    .toBuffer();
}

/**
 * A 12-megapixel phone photo (4032x3024 upright) stored as the sensor saw it, with the EXIF
 * orientation that turns it upright: 3 (stored upside down), 6 (stored turned a quarter left),
 * 8 (stored turned a quarter right).
 */
export async function phonePhoto(orientation: 3 | 6 | 8): Promise<Buffer> {
  const upright = await sharp(await coffee())
    .resize(4032, 3024, { fit: 'cover' })
    .toBuffer();
  const stored = await sharp(upright).rotate({ 3: 180, 6: 270, 8: 90 }[orientation]).jpeg({ quality: 90 }).toBuffer();
  return sharp(stored).withMetadata({ orientation }).jpeg({ quality: 90 }).toBuffer();
}

/** A 64x64 24-bit BMP (BITMAPINFOHEADER), which libvips cannot read but must be named: 415. */
export function bmp(side = 64): Buffer {
  const rowBytes = Math.ceil((side * 3) / 4) * 4;
  const pixels = Buffer.alloc(rowBytes * side, 0x80);
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + pixels.length, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(side, 18);
  header.writeInt32LE(side, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixels.length, 34);
  return Buffer.concat([header, pixels]);
}

/** The start of an iPhone HEIC (ftyp box, brand heic): sharp's libvips has no HEVC decoder, so 415. */
export function heic(): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'latin1');
  ftyp.write('mif1heic', 16, 'latin1');
  return Buffer.concat([ftyp, Buffer.alloc(256)]);
}

export const pdf = () =>
  Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

/** A Windows icon (ICONDIR + one entry): "anything else" must be 415 too. */
export function ico(): Buffer {
  const dir = Buffer.from([0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0x68, 0x04, 0, 0, 22, 0, 0, 0]);
  return Buffer.concat([dir, Buffer.alloc(0x468)]);
}
