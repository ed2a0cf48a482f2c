import { hashFile } from '../../model/hash-file.js';
import type { ModelCatalog, ServedModel } from '../../jobs/index.js';

/**
 * Replicate names a model version by a 64-hex id; here it is the sha256 of the model's ONNX file,
 * read once on first use (an API host without the file has no version id: the name stands in).
 */
export class ModelVersions {
  private readonly hashes = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly models: ModelCatalog,
    /** Each model's ONNX file, by model name. */
    private readonly files: ReadonlyMap<string, string>,
  ) {}

  /** The sha256 of the model's file, or undefined when this host cannot read it. */
  of(name: string): Promise<string | undefined> {
    let hash = this.hashes.get(name);
    if (!hash) {
      const file = this.files.get(name);
      hash = file
        ? hashFile(file).then(
            (h) => h.digest('hex'),
            () => undefined,
          )
        : Promise.resolve(undefined);
      this.hashes.set(name, hash);
    }
    return hash;
  }

  /**
   * The model a `version` (or `model`) names: a model name, `owner/name` with any owner, or the
   * sha256 of a model's file; 404 unknown_model otherwise.
   */
  async resolve(ref: string): Promise<ServedModel> {
    if (/^[0-9a-f]{64}$/.test(ref)) {
      for (const model of this.models.models) if ((await this.of(model.name)) === ref) return model;
    }
    return this.models.pick(ref.slice(ref.indexOf('/') + 1));
  }
}
