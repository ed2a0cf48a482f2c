import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../src/config.js';

/** The real photos in ../shared/images, in name order: what every bench step submits. */
export async function sharedImages(): Promise<Buffer[]> {
  const dir = path.resolve(projectRoot, '../shared/images');
  const names = (await readdir(dir)).filter((n) => /\.(png|jpe?g)$/.test(n)).sort();
  return Promise.all(names.map((n) => readFile(path.join(dir, n))));
}
