import sharp, { type Metadata } from 'sharp';
import { ImageError } from './image-error.js';
import { isSupportedFormat, sniffFormat, supportedFormatList, type SupportedFormat } from './image-format.js';
import type { Manifest } from './manifest.js';

export interface PreprocessLimits {
  /** Largest accepted width x height, checked from the header before any pixel is decoded. */
  maxImagePixels: number;
}

export interface PreparedImage {
  /** The model-sized RGB crop as a lossless PNG: exactly the pixels the model will see. */
  png: Buffer;
  width: number;
  height: number;
  source: { format: string; width: number; height: number; bytes: number };
}

/** Reads only the header; the pixel limit is checked by the caller so it can name the size. */
async function readHeader(image: Buffer): Promise<Metadata> {
  try {
    return await sharp(image, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageError('invalid_image', `the upload is not a recognisable image (${supportedFormatList} expected)`);
  }
}

function formatName(meta: Metadata): string {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heic';
  return meta.format;
}

function unsupported(format: string): ImageError {
  if (format === 'svg') {
    return new ImageError('unsupported_format', `SVG is not accepted: vector images from users are never rendered; send ${supportedFormatList}`);
  }
  return new ImageError('unsupported_format', `image format "${format}" is not accepted; send ${supportedFormatList}`);
}

/** What an upload's header says, once it is known to be an accepted image within the limits. */
export interface ImageHeader {
  format: SupportedFormat;
  /** Size once EXIF orientation is applied (orientations 5..8 swap width and height). */
  width: number;
  height: number;
}

/**
 * Validates an upload from its bytes and header alone, before any pixel is decoded: empty,
 * not an image (400), a format we do not accept (415, sniffed from the magic bytes first, so
 * formats libvips cannot even read are named), or more pixels than the limit (422). Cheap: the
 * API calls it to size a decode before it waits for a decode slot.
 */
export async function inspectImage(image: Buffer, limits: PreprocessLimits): Promise<ImageHeader> {
  if (image.length === 0) throw new ImageError('empty_image', 'the uploaded image has zero bytes');
  const sniffed = await sniffFormat(image);
  if (sniffed && !sniffed.supported) throw unsupported(sniffed.format);
  const meta = await readHeader(image);
  const format = formatName(meta);
  if (!isSupportedFormat(format)) throw unsupported(format);
  if (!(meta.width > 0 && meta.height > 0)) throw new ImageError('invalid_image', `the ${format} header declares no usable size`);
  const pixels = meta.width * meta.height;
  if (pixels > limits.maxImagePixels) {
    throw new ImageError('image_too_large', `image is ${meta.width}x${meta.height} (${pixels} pixels); the limit is ${limits.maxImagePixels} pixels`);
  }
  const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
  return { format, width, height };
}

/**
 * Validates an upload and reduces it to the model's input crop, following the model README's
 * contract: honour EXIF orientation, sRGB, drop alpha, shorter side to `resizeShorterTo`,
 * centre crop `inputSize`. Runs in the API so bad input fails at submit time and a job stores
 * only the small crop. Every rejection is an ImageError with a stable code.
 */
export async function prepareImage(
  image: Buffer,
  manifest: Pick<Manifest, 'inputSize' | 'resizeShorterTo' | 'resizeKernel'>,
  limits: PreprocessLimits,
): Promise<PreparedImage> {
  const { format, width: w, height: h } = await inspectImage(image, limits);
  // "Shorter side to resizeShorterTo, then centre crop inputSize" is done as "centre square of
  // side shorter * inputSize / resizeShorterTo, then resize it to inputSize": the same region and
  // scale, but the only intermediate is the crop itself, whatever the aspect ratio (a 65535x1
  // strip would otherwise be upscaled to 16.7M x 256 pixels), and less area is resampled.
  const size = manifest.inputSize;
  const side = Math.max(1, Math.min(w, h, Math.round((Math.min(w, h) * size) / manifest.resizeShorterTo)));
  try {
    const png = await sharp(image, { limitInputPixels: limits.maxImagePixels, sequentialRead: true })
      .autoOrient()
      .extract({ left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2), width: side, height: side })
      .resize(size, size, { kernel: manifest.resizeKernel, fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .png({ compressionLevel: 6, adaptiveFiltering: true })
      .toBuffer();
    return { png, width: size, height: size, source: { format, width: w, height: h, bytes: image.length } };
  } catch (err) {
    // sharp's text names libvips internals: it stays in `cause` (logged), never in the message.
    throw new ImageError('corrupt_image', `the ${format} image could not be decoded (truncated or damaged file)`, { cause: err });
  }
}

/** Decodes a crop made by prepareImage back to HWC RGB bytes, checking its shape. */
export async function decodeCrop(png: Buffer, size: number): Promise<Buffer> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(`stored input is ${info.width}x${info.height}x${info.channels}, model expects ${size}x${size}x3`);
  }
  return data;
}
