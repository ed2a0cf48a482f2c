import sharp, { type Metadata, type Sharp } from 'sharp';
import { decodeCrop as decodeStoredCrop, encodeCrop } from './crop-codec.js';
import { ImageError } from './image-error.js';
import {
  decodeWeight,
  isSupportedFormat,
  sniffFormat,
  supportedFormatList,
  type SupportedFormat,
} from './image-format.js';
import type { Manifest } from './manifest.js';

export interface PreprocessLimits {
  /** Largest accepted width x height, checked from the header before any pixel is decoded. */
  maxImagePixels: number;
}

export interface PreparedImage {
  /** The model-sized crop, losslessly encoded (crop-codec.ts): exactly the pixels the model will see. */
  crop: Buffer;
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
    return new ImageError(
      'unsupported_format',
      `SVG is not accepted: vector images from users are never rendered; send ${supportedFormatList}`,
    );
  }
  return new ImageError('unsupported_format', `image format "${format}" is not accepted; send ${supportedFormatList}`);
}

/** What an upload's header says, once it is known to be an accepted image within the limits. */
export interface ImageHeader {
  format: SupportedFormat;
  /** Size once EXIF orientation is applied (orientations 5..8 swap width and height). */
  width: number;
  height: number;
  /**
   * What decoding it costs, in pixels of a JPEG/PNG decode: width x height x decodeWeight (an
   * AVIF counts 4 times). The pixel limit and the API's decode slots count this.
   */
  decodePixels: number;
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
  if (!(meta.width > 0 && meta.height > 0))
    throw new ImageError('invalid_image', `the ${format} header declares no usable size`);
  const pixels = meta.width * meta.height;
  const weight = decodeWeight(format);
  if (pixels * weight > limits.maxImagePixels) {
    const limit = Math.floor(limits.maxImagePixels / weight);
    const why = weight > 1 ? ` for ${format}, which is decoded at full size (${weight}x the memory per pixel)` : '';
    throw new ImageError(
      'image_too_large',
      `image is ${meta.width}x${meta.height} (${pixels} pixels); the limit is ${limit} pixels${why}`,
    );
  }
  const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
  return { format, width, height, decodePixels: pixels * weight };
}

/**
 * Validates an upload and reduces it to the model's input crop, following the model README's
 * contract: honour EXIF orientation, sRGB, drop alpha, shorter side to `resizeShorterTo`,
 * centre crop `inputSize` (see cropToModelInput). Runs in the API so bad input fails at submit
 * time and a job stores only the small crop. Every rejection is an ImageError with a stable code.
 */
export async function prepareImage(
  image: Buffer,
  manifest: Pick<Manifest, 'inputSize' | 'resizeShorterTo' | 'resizeKernel'>,
  limits: PreprocessLimits,
  /**
   * What inspectImage said of these same bytes, when the caller has already asked: the header is
   * then not sniffed and parsed a second time (building sharp's metadata object is a visible share
   * of the API's CPU under load).
   */
  header?: ImageHeader,
): Promise<PreparedImage> {
  const { format, width: w, height: h } = header ?? (await inspectImage(image, limits));
  try {
    const pixels = await cropToModelInput(
      sharp(image, { limitInputPixels: limits.maxImagePixels, sequentialRead: true }).autoOrient(),
      w,
      h,
      manifest,
    );
    return {
      crop: await encodeCrop(pixels, manifest.inputSize),
      width: manifest.inputSize,
      height: manifest.inputSize,
      source: { format, width: w, height: h, bytes: image.length },
    };
  } catch (err) {
    // sharp's text names libvips internals: it stays in `cause` (logged), never in the message.
    throw new ImageError('corrupt_image', `the ${format} image could not be decoded (truncated or damaged file)`, {
      cause: err,
    });
  }
}

/**
 * Past this aspect ratio the resized whole image would dwarf the crop (a 65535x1 strip resized to
 * a 256 shorter side is 16.7M x 256 pixels), so the centre is cut out first instead.
 */
const maxResizeFirstAspect = 4;

/**
 * "Shorter side to resizeShorterTo, then centre crop inputSize" (torchvision's Resize +
 * CenterCrop), ending as sRGB HWC bytes. Resizing first lets libvips use JPEG (and WebP)
 * shrink-on-load: a 12 MP phone photo is decoded at 1/2, 1/4 or 1/8 scale straight from its DCT
 * coefficients (27 ms of CPU instead of 140 ms measured). The centre crop is then cut from the
 * small raw image here: an extract in the same sharp pipeline, even after the resize, turns
 * shrink-on-load off. For extreme aspect ratios the same region is cut out at full resolution
 * first and then scaled, so the only intermediate is the crop itself.
 */
async function cropToModelInput(
  pipeline: Sharp,
  w: number,
  h: number,
  manifest: Pick<Manifest, 'inputSize' | 'resizeShorterTo' | 'resizeKernel'>,
): Promise<Buffer> {
  const size = manifest.inputSize;
  const shorter = Math.min(w, h);
  const rgb = (p: Sharp) => p.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (Math.max(w, h) / shorter > maxResizeFirstAspect) {
    const side = Math.max(1, Math.min(w, h, Math.round((shorter * size) / manifest.resizeShorterTo)));
    const region = { left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2), width: side, height: side };
    const { data, info } = await rgb(
      pipeline.extract(region).resize(size, size, { kernel: manifest.resizeKernel, fit: 'fill' }),
    );
    return centreCrop(data, info, size);
  }
  const scale = Math.max(manifest.resizeShorterTo, size) / shorter;
  const [rw, rh] = [Math.max(size, Math.round(w * scale)), Math.max(size, Math.round(h * scale))];
  const { data, info } = await rgb(pipeline.resize(rw, rh, { kernel: manifest.resizeKernel, fit: 'fill' }));
  return centreCrop(data, info, size);
}

/** The centre size x size of a raw RGB image, copied row by row. */
function centreCrop(data: Buffer, info: { width: number; height: number; channels: number }, size: number): Buffer {
  if (info.channels !== 3 || info.width < size || info.height < size) {
    throw new Error(
      `resized image is ${info.width}x${info.height}x${info.channels}, expected at least ${size}x${size}x3`,
    );
  }
  if (info.width === size && info.height === size) return data;
  const [left, top] = [Math.floor((info.width - size) / 2), Math.floor((info.height - size) / 2)];
  const out = Buffer.allocUnsafe(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * info.width + left) * 3;
    data.copy(out, y * size * 3, from, from + size * 3);
  }
  return out;
}

/** Decodes a crop made by prepareImage back to HWC RGB bytes, checking its shape. */
export async function decodeCrop(stored: Uint8Array, size: number): Promise<Buffer> {
  const expected = size * size * 3;
  const pixels = await decodeStoredCrop(stored, size, expected);
  if (pixels.length !== expected)
    throw new Error(`stored input has ${pixels.length} bytes, model expects ${size}x${size}x3 = ${expected}`);
  return pixels;
}
