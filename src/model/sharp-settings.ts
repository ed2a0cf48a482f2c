import sharp from 'sharp';

/**
 * libvips settings for a server that decodes each upload once: no operation cache (it keeps
 * recently decoded images in memory for reuse that never comes; 50 MB and 100 operations by
 * default) and a fixed number of threads per image, so that concurrent decodes times threads
 * stays near the number of cores. Process-wide: the API's entry point calls it once.
 */
export function configureSharp(options: { threadsPerImage: number }): void {
  sharp.cache(false);
  sharp.concurrency(options.threadsPerImage);
}
