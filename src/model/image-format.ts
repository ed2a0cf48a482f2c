import { fileTypeFromBuffer } from 'file-type';

/**
 * The formats prepareImage decodes, by the name sharp reports. HEIF is accepted only as AVIF:
 * sharp's prebuilt libvips has no HEVC decoder. A multi-page TIFF or animated GIF/WebP/PNG
 * contributes its first page.
 */
export const supportedFormats = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const;
export type SupportedFormat = (typeof supportedFormats)[number];

/**
 * How many times the memory of a JPEG/PNG decode of the same size a format's decode takes, per
 * pixel. libheif decodes an AVIF whole (no shrink-on-load, no sequential read) through several
 * full-size buffers: about 1 GB at peak for 7000x7000, 4 times what DECODE_MAX_PIXELS budgets per
 * pixel. Pixel limits and decode slots count an image's pixels times this weight.
 */
export function decodeWeight(format: SupportedFormat): number {
  return format === 'avif' ? 4 : 1;
}

/** The list clients read in a 415 message. */
export const supportedFormatList = 'JPEG, PNG, WebP, GIF, AVIF or TIFF';

/** file-type's extension -> our format name, for the formats we decode (APNG is PNG to sharp). */
const fromExtension: Readonly<Record<string, SupportedFormat>> = {
  jpg: 'jpeg',
  png: 'png',
  apng: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'avif',
  tif: 'tiff',
};

export type SniffedFormat =
  { supported: true; format: SupportedFormat } | { supported: false; format: string } | undefined;

/**
 * What the bytes are, from their magic numbers: never from a filename or a declared content type,
 * which real clients omit or get wrong (`application/octet-stream`, no type at all).
 * `undefined` when no known signature matches (text, random bytes, SVG without an XML prolog):
 * the decoder then has the last word.
 */
export async function sniffFormat(bytes: Uint8Array): Promise<SniffedFormat> {
  const type = await fileTypeFromBuffer(bytes).catch(() => undefined);
  if (!type) return undefined;
  const format = fromExtension[type.ext];
  return format ? { supported: true, format } : { supported: false, format: type.ext };
}

export function isSupportedFormat(format: string): format is SupportedFormat {
  return (supportedFormats as readonly string[]).includes(format);
}
