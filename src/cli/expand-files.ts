import { existsSync } from 'node:fs';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';

/**
 * The command line's images with glob patterns expanded, for shells that pass them through
 * (quoted patterns, Windows): `photos/*.jpg` becomes the matching files, sorted. A pattern that
 * matches nothing stays as it is and then fails like a missing file, naming itself; a file whose
 * name merely looks like a pattern is taken as it is.
 */
export async function expandFiles(args: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    if (!isDynamicPattern(arg) || existsSync(arg)) {
      files.push(arg);
      continue;
    }
    const matches = await glob(arg, { onlyFiles: true, expandDirectories: false, absolute: path.isAbsolute(arg) });
    files.push(...(matches.length > 0 ? matches.sort() : [arg]));
  }
  return files;
}
