import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { imagesDir } from './paths.js';

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

// Test-side view of responses; shapes are asserted by the tests themselves.
export interface JobBody {
  id: string;
  status: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  batchSize?: number;
  result?: { model: string; predictions: { label: string; classId: number; probability: number }[] };
  error?: { code: string; message: string };
  links: { self: string; wait: string };
}
export interface ErrorBody {
  error: { code: string; message: string };
}

async function reply<T>(res: Response): Promise<Reply<T>> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Non-JSON bodies stay text, and the assertions on them fail visibly.
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

export function image(name: string): Promise<Buffer> {
  return readFile(path.join(imagesDir, name));
}

export async function postImage<T = JobBody>(
  url: string,
  bytes: Buffer | undefined,
  options: { route?: string; filename?: string; field?: string; headers?: Record<string, string>; query?: string } = {},
): Promise<Reply<T>> {
  const form = new FormData();
  if (bytes) form.append(options.field ?? 'image', new Blob([new Uint8Array(bytes)]), options.filename ?? 'upload.bin');
  else form.append('note', 'no image here');
  const res = await fetch(`${url}${options.route ?? '/jobs'}${options.query ?? ''}`, {
    method: 'POST',
    body: form,
    headers: options.headers,
  });
  return reply<T>(res);
}

export async function get<T = JobBody>(url: string, route: string, init?: RequestInit): Promise<Reply<T>> {
  return reply<T>(await fetch(`${url}${route}`, init));
}

export async function submitAndWait(url: string, bytes: Buffer, query = ''): Promise<JobBody> {
  const submitted = await postImage(url, bytes, { query });
  if (submitted.status !== 202)
    throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  for (;;) {
    const waited = await get(url, `${submitted.body.links.wait}?timeout=30`);
    if (waited.status === 200) return waited.body;
    if (waited.status !== 202) throw new Error(`wait answered ${waited.status}: ${JSON.stringify(waited.body)}`);
  }
}
