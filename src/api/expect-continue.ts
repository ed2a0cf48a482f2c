import type { ServerResponse } from 'node:http';

/** Responses whose request sent `Expect: 100-continue` and has not been told to go on yet. */
const awaiting = new WeakSet<ServerResponse>();

/**
 * Called by the HTTP server for a request with `Expect: 100-continue` instead of answering
 * 100 at once: the client then waits until a handler decides to read the body, so a 401, 413,
 * 429 or 503 decided from the headers costs it no upload.
 */
export function deferContinue(res: ServerResponse): void {
  awaiting.add(res);
}

/** Tells a waiting client to send its body; call before reading it (a no-op otherwise). */
export function sendContinue(res: ServerResponse): void {
  if (!awaiting.delete(res) || res.headersSent) return;
  res.writeContinue();
}
