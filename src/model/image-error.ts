/**
 * Why an image was refused. The model layer knows images, not HTTP: the API maps each code to a
 * status through the error table (the codes are the table's own, so the mapping is the identity).
 */
export type ImageErrorCode =
  'empty_image' | 'invalid_image' | 'unsupported_format' | 'image_too_large' | 'corrupt_image';

/** A rejected image. `message` is safe to show the client; a decoder's own text stays in `cause`. */
export class ImageError extends Error {
  override name = 'ImageError';

  constructor(
    readonly code: ImageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
