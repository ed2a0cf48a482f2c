/**
 * The decode cost the service cannot avoid, in its own process on one thread (sharp's and libuv's
 * pools of one, so CPU time and wall time both mean one core's work): for each shared photo, the
 * bare sharp pipeline the model's contract needs (EXIF orientation, shorter side to
 * resizeShorterTo, sRGB RGB bytes, centre crop), then the project's own prepareImage (header
 * checks and the stored crop's encoding on top). Run with UV_THREADPOOL_SIZE=1. Prints one JSON line:
 *   tsx bench/decode.ts <modelDir> <rounds>  -> { bare: {cpuMs, wallMs}, prepareImage: {cpuMs, wallMs} } per image
 */
import sharp from 'sharp';
import { loadManifest } from '../src/model/manifest.js';
import { prepareImage } from '../src/model/preprocess.js';
import { sharedImages } from './shared-images.js';

const [modelDir, roundsArg] = process.argv.slice(2);
if (!modelDir) throw new Error('usage: tsx bench/decode.ts <modelDir> <rounds>');
const rounds = Number(roundsArg ?? 20);
sharp.concurrency(1);
sharp.cache(false);
const manifest = await loadManifest(modelDir);
const images = await sharedImages();
const size = manifest.inputSize;

/** Decode, orient, resize the shorter side, RGB bytes, centre crop: what any server must do per image. */
async function bare(bytes: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(bytes)
    .autoOrient()
    .resize(manifest.resizeShorterTo, manifest.resizeShorterTo, { fit: 'outside', kernel: manifest.resizeKernel })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = Buffer.allocUnsafe(size * size * 3);
  const [left, top] = [Math.floor((info.width - size) / 2), Math.floor((info.height - size) / 2)];
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * info.width + left) * 3;
    data.copy(out, y * size * 3, from, from + size * 3);
  }
  return out;
}

async function time(run: (bytes: Buffer) => Promise<unknown>) {
  for (const bytes of images) await run(bytes);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let r = 0; r < rounds; r++) for (const bytes of images) await run(bytes);
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const n = rounds * images.length;
  return { cpuMs: (user + system) / 1000 / n, wallMs: wallMs / n };
}

const limits = { maxImagePixels: 100_000_000 };
const result = { bare: await time(bare), prepareImage: await time((b) => prepareImage(b, manifest, limits)) };
process.stdout.write(`${JSON.stringify(result)}\n`);
