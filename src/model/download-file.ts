import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { hashFile } from './hash-file.js';

export interface DownloadProgress {
  /** Bytes in the file so far, resumed ones included. */
  receivedBytes: number;
  /** Size of the whole file when known (pinned, or reported by the server). */
  totalBytes: number | undefined;
  /** Average speed of this attempt, bytes per second. */
  bytesPerSecond: number;
}

export interface DownloadOptions {
  /**
   * Size the file must have, when pinned. A partial file larger than this is discarded, and a
   * server reporting another size is refused before a byte is written.
   */
  expectedBytes?: number;
  onProgress?: (progress: DownloadProgress) => void;
  /** Told, in words, when a partial file is resumed or discarded. */
  onNote?: (message: string) => void;
  signal?: AbortSignal;
}

export interface DownloadedFile {
  bytes: number;
  /** Lower-case hex sha256 of the whole file. */
  sha256: string;
  /** Bytes that were already on disk and kept. */
  resumedFromBytes: number;
}

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    message: string,
    /** Whether trying again may help: a network failure or a 5xx may pass, a 404 or a wrong size will not. */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const retryableStatus = (status: number) => status >= 500 || status === 408 || status === 429;

async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return 0;
      throw err;
    },
  );
}

/** `Content-Range: bytes START-END/TOTAL`; TOTAL may be `*` (unknown). */
function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) };
}

function request(url: string, fromByte: number, signal: AbortSignal | undefined): Promise<Response> {
  // identity: Content-Length and Range must count the file's own bytes, not a compressed stream's.
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (fromByte > 0) headers['range'] = `bytes=${fromByte}-`;
  return fetch(url, { headers, signal, redirect: 'follow' }).catch((err: unknown) => {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new DownloadError(`cannot reach ${url}: ${cause ?? (err as Error).message}`, true);
  });
}

/**
 * Downloads `url` into `partFile`, resuming with an HTTP Range request when the file already
 * holds the beginning of it, and returns the sha256 of the whole file. Starts over cleanly when
 * the partial file is larger than expected, or the server ignores the Range (answers 200),
 * rejects it (416) or answers another range. Every byte is on disk (fsync) when this resolves.
 * A connection cut mid-way rejects with the bytes received so far left in `partFile` for the
 * next call to resume; the caller decides where the file finally goes.
 */
export async function downloadFile(
  url: string,
  partFile: string,
  options: DownloadOptions = {},
): Promise<DownloadedFile> {
  const { expectedBytes, signal } = options;
  const note = options.onNote ?? (() => undefined);
  let offset = await fileSize(partFile);
  if (expectedBytes !== undefined && offset > expectedBytes) {
    note(`discarding the partial download (${offset} bytes, more than the expected ${expectedBytes}); starting over`);
    offset = 0;
  }
  if (expectedBytes !== undefined && offset === expectedBytes && offset > 0) {
    // Complete but never verified (stopped between download and check): no request needed.
    return { bytes: offset, sha256: (await hashFile(partFile)).digest('hex'), resumedFromBytes: offset };
  }

  let res = await request(url, offset, signal);
  let range = res.status === 206 ? parseContentRange(res.headers.get('content-range')) : undefined;
  if (offset > 0 && !(res.status === 206 && range?.start === offset)) {
    if (res.status === 200) {
      note('the server ignored the Range request; downloading from the start');
    } else if (res.status === 206 || res.status === 416) {
      note(`the server could not resume at byte ${offset} (HTTP ${res.status}); downloading from the start`);
      await res.body?.cancel();
      res = await request(url, 0, signal);
      range = undefined;
    }
    offset = 0;
  }
  if (res.status !== 200 && !(res.status === 206 && offset > 0)) {
    await res.body?.cancel();
    throw new DownloadError(
      `${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
      retryableStatus(res.status),
    );
  }
  if (offset > 0) note(`resuming at byte ${offset}`);

  const length = res.headers.get('content-length');
  const totalBytes = range ? range.total : length === null ? undefined : Number(length) + offset;
  if (expectedBytes !== undefined && totalBytes !== undefined && totalBytes !== expectedBytes) {
    await res.body?.cancel();
    throw new DownloadError(`${url} is ${totalBytes} bytes, expected ${expectedBytes}: not the pinned file`, false);
  }

  const hash = offset > 0 ? await hashFile(partFile) : createHash('sha256');
  // 'w' truncates whatever was there when starting over; 'a' continues after the kept bytes.
  const file = await open(partFile, offset > 0 ? 'a' : 'w');
  const started = performance.now();
  let receivedBytes = offset;
  try {
    // Node's fetch body is a web ReadableStream, async-iterable in Node though not in the DOM typings.
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      hash.update(chunk);
      receivedBytes += chunk.length;
      const seconds = (performance.now() - started) / 1000;
      options.onProgress?.({
        receivedBytes,
        totalBytes: totalBytes ?? expectedBytes,
        bytesPerSecond: seconds > 0 ? (receivedBytes - offset) / seconds : 0,
      });
    }
    await file.sync();
  } catch (err) {
    // Disk errors (ENOSPC, EACCES…) and an abort are not the network's doing: no retry wrapper.
    if (signal?.aborted || (err as NodeJS.ErrnoException).syscall) throw err;
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new DownloadError(
      `the download from ${url} broke off after ${receivedBytes} bytes: ${cause ?? (err as Error).message}`,
      true,
    );
  } finally {
    await file.close();
  }
  if (totalBytes !== undefined && receivedBytes !== totalBytes) {
    throw new DownloadError(`the download from ${url} ended after ${receivedBytes} of ${totalBytes} bytes`, true);
  }
  return { bytes: receivedBytes, sha256: hash.digest('hex'), resumedFromBytes: offset };
}
