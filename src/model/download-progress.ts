import type { DownloadProgress } from './download-file.js';

const megabytes = (bytes: number) => (bytes / 1e6).toFixed(1);

/** "43.1/102.6 MB (42%), 35.2 MB/s": bytes so far, of the total when known, and speed. */
export function describeProgress(p: DownloadProgress): string {
  const speed = `${megabytes(p.bytesPerSecond)} MB/s`;
  if (p.totalBytes === undefined) return `${megabytes(p.receivedBytes)} MB, ${speed}`;
  const percent = Math.floor((100 * p.receivedBytes) / p.totalBytes);
  return `${megabytes(p.receivedBytes)}/${megabytes(p.totalBytes)} MB (${percent}%), ${speed}`;
}

export interface ProgressBar {
  update(progress: DownloadProgress): void;
  /** Ends the bar's line, so other output starts on a fresh one. */
  end(): void;
}

/** Redraws one terminal line in place, at most ten times a second (and once at 100%). */
export function progressBar(stream: NodeJS.WriteStream): ProgressBar {
  let lastDrawMs = -Infinity;
  let drawn = false;
  return {
    update(p) {
      const now = performance.now();
      if (now - lastDrawMs < 100 && p.receivedBytes !== p.totalBytes) return;
      lastDrawMs = now;
      const text = describeProgress(p);
      const width = Math.max(10, Math.min(40, (stream.columns || 80) - text.length - 4));
      const filled = p.totalBytes ? Math.round((width * p.receivedBytes) / p.totalBytes) : 0;
      const bar = p.totalBytes ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
      stream.write(`\r${bar}${text}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/**
 * For logs and pipes, where a redrawn line would be noise: one line per `stepPercent` of the
 * file (per 10 MB when its size is unknown), starting from wherever a resumed download begins.
 */
export function progressLines(write: (line: string) => void, stepPercent = 10): (progress: DownloadProgress) => void {
  let nextMark: number | undefined;
  return (p) => {
    const step = p.totalBytes ? (p.totalBytes * stepPercent) / 100 : 10e6;
    nextMark ??= (Math.floor(p.receivedBytes / step) + 1) * step;
    if (p.receivedBytes < nextMark && p.receivedBytes !== p.totalBytes) return;
    while (nextMark <= p.receivedBytes) nextMark += step;
    write(`downloaded ${describeProgress(p)}`);
  };
}
