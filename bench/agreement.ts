/**
 * Top-1 agreement between two models (float32 and int8) on the shared photos, in its own process
 * (two ResNet-50 sessions at once). Each photo is classified as the service sees it (reference
 * crop) and in augmented views (mirror, off-centre and tighter crops), all through prepareImage.
 * Prints one JSON line. This is the guard an int8 model must pass before it is served (see the
 * int8 model's README: kernels that saturate give wrong answers without failing).
 *   tsx bench/agreement.ts <fp32ModelDir> <int8ModelDir> [--quick]
 * --quick keeps the reference crop and the mirror view only (for the test that the bench runs).
 */
import sharp, { type Sharp } from 'sharp';
import { loadClassifier } from '../src/model/classifier.js';
import { decodeCrop, prepareImage } from '../src/model/preprocess.js';
import { sharedImages } from './shared-images.js';

const [fp32Dir, int8Dir, mode] = process.argv.slice(2);
if (!fp32Dir || !int8Dir) throw new Error('usage: tsx bench/agreement.ts <fp32ModelDir> <int8ModelDir> [--quick]');
const quick = mode === '--quick';

/** The photo itself first (the reference crop), then deterministic augmented views of it. */
async function views(photo: Buffer): Promise<Buffer[]> {
  const { width, height } = await sharp(photo).metadata();
  const png = (s: Sharp) => s.png().toBuffer();
  const region = (fraction: number, fx: number, fy: number) => {
    const [w, h] = [Math.round(width * fraction), Math.round(height * fraction)];
    return png(
      sharp(photo).extract({
        left: Math.round((width - w) * fx),
        top: Math.round((height - h) * fy),
        width: w,
        height: h,
      }),
    );
  };
  if (quick) return [photo, await png(sharp(photo).flop())];
  return Promise.all([
    Promise.resolve(photo),
    png(sharp(photo).flop()),
    region(0.8, 0, 0),
    region(0.8, 1, 0),
    region(0.8, 0, 1),
    region(0.8, 1, 1),
    region(0.7, 0.5, 0.5),
    png(
      sharp(photo)
        .flop()
        .extract({ left: 0, top: 0, width: Math.round(width * 0.85), height: Math.round(height * 0.85) }),
    ),
  ]);
}

const photos = await sharedImages();
const perPhoto = await Promise.all(photos.map(views));
const [fp32, int8] = [
  await loadClassifier(fp32Dir, { intraOpThreads: 2 }),
  await loadClassifier(int8Dir, { intraOpThreads: 2 }),
];
const limits = { maxImagePixels: 50_000_000 };
const top1 = async (classifier: typeof fp32, image: Buffer) => {
  const [logits] = await classifier.run([
    await decodeCrop((await prepareImage(image, classifier.manifest, limits)).crop, classifier.manifest.inputSize),
  ]);
  return classifier.predictions(logits!, 1)[0]!.label;
};

let reference = 0;
let agreeing = 0;
let total = 0;
const disagreements: { photo: number; view: number; fp32: string; int8: string }[] = [];
for (const [p, list] of perPhoto.entries()) {
  for (const [v, image] of list.entries()) {
    const [a, b] = [await top1(fp32, image), await top1(int8, image)];
    total++;
    if (a === b) {
      agreeing++;
      if (v === 0) reference++;
    } else {
      disagreements.push({ photo: p, view: v, fp32: a, int8: b });
    }
  }
}
await Promise.all([fp32.close(), int8.close()]);
const summary = {
  photos: photos.length,
  referenceAgreeing: reference,
  views: total,
  viewsAgreeing: agreeing,
  fp32Precision: fp32.precision,
  int8Precision: int8.precision,
  disagreements,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
