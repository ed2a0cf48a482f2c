import sharp from 'sharp';

/** Pixels of a phone camera's photo: 4000 x 3000. */
export const phonePixels = 12_000_000;

/**
 * A 12 MP phone-style JPEG made from a photo: upscaled to ~12 MP keeping its aspect ratio, stored
 * sideways with EXIF orientation 6 (as phones write portrait shots), so the service must decode a
 * large JPEG and turn it upright. Classifying it must give the same top-1 as the original.
 */
export async function phonePhoto(photo: Buffer): Promise<Buffer> {
  const { width, height } = await sharp(photo).metadata();
  const scale = Math.sqrt(phonePixels / (width * height));
  const big = await sharp(photo)
    .resize(Math.round(width * scale), Math.round(height * scale), { kernel: 'cubic' })
    .rotate(270)
    .jpeg({ quality: 90 })
    .toBuffer();
  return sharp(big).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer();
}
