import { access, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../config.js';
import { DownloadError, downloadFile, type DownloadedFile, type DownloadProgress } from './download-file.js';
import { acquireFileLock } from './file-lock.js';
import { hashFile } from './hash-file.js';
import { loadManifest, manifestFile, ManifestSchema } from './manifest.js';
import type { ModelSource } from './model-source.js';

/**
 * The Keras ImageNet class index, shipped with the code (35 KB of data, not a model): model-zoo
 * classifiers emit the 1000 classes in this standard order, and a fetched model needs its labels.
 */
export const imagenetLabelsFile = path.join(projectRoot, 'assets', 'imagenet_class_index.json');
const imagenetLabelsName = path.basename(imagenetLabelsFile);

export interface FetchModelOptions {
  /**
   * A model file already in the directory: `verify` hashes it and refuses one that does not match
   * (`npm run model:fetch`); `trust` uses it as it is (worker start, where hashing 100 MB each
   * time buys nothing and the directory may be read-only).
   */
  whenPresent: 'verify' | 'trust';
  /** Download attempts, each resuming where the last broke off (default 5). */
  attempts?: number;
  /** Wait before the second attempt, doubled for each further one, ms (default 1000). */
  retryDelayMs?: number;
  onProgress?: (progress: DownloadProgress) => void;
  /** One line per step, in words. */
  log?: (message: string) => void;
  signal?: AbortSignal;
}

export type FetchOutcome = 'downloaded' | 'present';

export class ModelFetchError extends Error {
  override name = 'ModelFetchError';
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** Writes beside the target, then renames: a reader sees the whole file or none. */
async function writeAtomically(file: string, write: (temp: string) => Promise<void>): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await write(temp);
  await rename(temp, file);
}

/**
 * Fills in what a model file needs beside it, never overwriting: the manifest (the ImageNet
 * preprocessing defaults, named after the source) and, when that is the labels file it names,
 * the ImageNet class index.
 */
async function completeModelDir(
  modelDir: string,
  source: ModelSource,
  labelsName: string,
  log: (m: string) => void,
): Promise<void> {
  const manifestPath = path.join(modelDir, manifestFile);
  if (!(await exists(manifestPath))) {
    const manifest = ManifestSchema.parse({ name: source.name });
    await writeAtomically(manifestPath, (temp) => writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`));
    log(`wrote ${manifestPath}`);
  }
  const labelsPath = path.join(modelDir, labelsName);
  if (labelsName === imagenetLabelsName && !(await exists(labelsPath))) {
    await writeAtomically(labelsPath, (temp) => copyFile(imagenetLabelsFile, temp));
    log(`wrote ${labelsPath}`);
  }
}

async function downloadWithRetries(
  source: ModelSource,
  partFile: string,
  options: FetchModelOptions,
): Promise<DownloadedFile> {
  const attempts = options.attempts ?? 5;
  const log = options.log ?? (() => undefined);
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadFile(source.url, partFile, {
        expectedBytes: source.bytes,
        onProgress: options.onProgress,
        onNote: log,
        signal: options.signal,
      });
    } catch (err) {
      if (!(err instanceof DownloadError) || !err.retryable || attempt >= attempts || options.signal?.aborted)
        throw err;
      const delayMs = (options.retryDelayMs ?? 1000) * 2 ** (attempt - 1);
      log(`${err.message}; attempt ${attempt + 1} of ${attempts} in ${delayMs / 1000} s`);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}

/**
 * Puts the model of `source` into `modelDir`, ready for loadClassifier. It is downloaded to
 * `<file>.part` beside its final name (resumed with Range if an earlier attempt left one), checked
 * against the pinned sha256, and only then renamed into place after the manifest and labels: a
 * model file in the directory is therefore always whole, verified and complete with its labels.
 * A mismatch deletes the download and installs nothing. Processes sharing the directory (worker
 * replicas) take turns through a lock file; the later ones find the model there.
 */
export async function fetchModel(
  modelDir: string,
  source: ModelSource,
  options: FetchModelOptions,
): Promise<FetchOutcome> {
  const log = options.log ?? (() => undefined);
  const manifest = await loadManifest(modelDir);
  const modelFile = path.join(modelDir, manifest.file);
  // A model already there needs no lock: nothing is downloaded, and the files filled in beside it
  // are written whole (temp + rename), so processes doing this at once cannot clash.
  // `trust` leaves the directory exactly as it is (it may be a read-only mount).
  const usePresent = async (): Promise<FetchOutcome> => {
    if (options.whenPresent === 'trust') return 'present';
    const sha256 = (await hashFile(modelFile)).digest('hex');
    if (sha256 !== source.sha256) {
      throw new ModelFetchError(
        `${modelFile} already exists with sha256 ${sha256}, not the pinned ${source.sha256}; ` +
          'delete it or set MODEL_DIR to another directory',
      );
    }
    await completeModelDir(modelDir, source, manifest.labels, log);
    return 'present';
  };
  if (await exists(modelFile)) return usePresent();

  await mkdir(modelDir, { recursive: true });
  const lock = await acquireFileLock(`${modelFile}.lock`, {
    signal: options.signal,
    onWait: (lockFile) => log(`another process is fetching the model (${lockFile}); waiting for it`),
  });
  try {
    // Subscribe, then check: whoever held the lock may have installed the model meanwhile.
    if (await exists(modelFile)) return await usePresent();
    const partFile = `${modelFile}.part`;
    log(`downloading ${source.url} to ${partFile}`);
    const downloaded = await downloadWithRetries(source, partFile, options);
    if (downloaded.sha256 !== source.sha256) {
      await rm(partFile, { force: true });
      throw new ModelFetchError(
        `checksum mismatch for ${source.url}: got sha256 ${downloaded.sha256}, expected ${source.sha256}; ` +
          'the download was deleted and nothing was installed',
      );
    }
    await completeModelDir(modelDir, source, manifest.labels, log);
    await rename(partFile, modelFile);
    log(`installed ${modelFile} (${downloaded.bytes} bytes, sha256 verified)`);
    return 'downloaded';
  } finally {
    await lock.release();
  }
}
