import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../src/config.js';

/** POST /jobs with the image in the multipart field `image`; a Blob is sent as it is, without a copy. */
export function submitImage(
  url: string,
  image: Blob | Buffer,
  headers: Record<string, string> = {},
): Promise<Response> {
  const form = new FormData();
  form.append('image', image instanceof Blob ? image : new Blob([new Uint8Array(image)]), 'image');
  return fetch(`${url}/jobs`, { method: 'POST', body: form, headers });
}

/** The real photos in ../shared/images, in name order: what every bench step submits. */
export async function sharedImages(): Promise<Buffer[]> {
  const dir = path.resolve(projectRoot, '../shared/images');
  const names = (await readdir(dir)).filter((n) => /\.(png|jpe?g)$/.test(n)).sort();
  return Promise.all(names.map((n) => readFile(path.join(dir, n))));
}
