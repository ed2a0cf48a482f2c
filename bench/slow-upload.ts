import http from 'node:http';

/** Where a slow upload goes and what it says it is; `preamble` is written before the filler bytes. */
export interface SlowUploadTarget {
  path: string;
  contentType: string;
  preamble?: string;
}

/**
 * One upload that sends `sendBytes` of a declared `declaredBytes` body, then waits until `held`
 * aborts; resolves with the early status, if any ('held open' when none came).
 */
export function slowUpload(
  url: URL,
  target: SlowUploadTarget,
  declaredBytes: number,
  sendBytes: number,
  held: AbortSignal,
): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: target.path,
      method: 'POST',
      headers: { 'content-type': target.contentType, 'content-length': declaredBytes },
    });
    let status: number | string = 'held open';
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.resume();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (status === 'held open' && !held.aborted) status = err.code ?? err.message;
    });
    if (target.preamble) req.write(target.preamble);
    const chunk = Buffer.alloc(64 * 1024, 0xab);
    let sent = 0;
    const pump = () => {
      while (sent < sendBytes && !held.aborted) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
    held.addEventListener('abort', () => {
      resolve(status);
      req.destroy();
    });
  });
}
