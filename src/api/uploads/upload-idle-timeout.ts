import type { IncomingMessage } from 'node:http';

/**
 * Cuts off an upload whose client sends nothing for `idleMs` (UPLOAD_IDLE_TIMEOUT_MS): its socket
 * is destroyed, so the read fails and the upload's admission (a slot and its bytes) is freed at
 * once instead of when Node's requestTimeout (5 minutes) ends the request. Returns the function
 * that lifts the limit; call it once the body is read, or while the reader itself pauses the
 * body (backpressure while a batch part is decoded is not the client's idleness).
 */
export function limitUploadIdle(req: IncomingMessage, idleMs: number): () => void {
  const onIdle = () => req.socket.destroy();
  req.setTimeout(idleMs, onIdle);
  return () => {
    req.off('timeout', onIdle);
    // The server's own socket timeout is 0 (none): back to it.
    req.setTimeout(0);
  };
}
