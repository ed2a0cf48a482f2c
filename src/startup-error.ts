/**
 * A start-up failure that one sentence explains (a port in use, no model): printed as that
 * sentence, without a stack, and reported to a supervising parent, which then stops rather than
 * restarting a process that would only fail the same way.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
