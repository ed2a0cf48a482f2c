import type { RedisTarget } from './config.js';
import type { Logger } from './logger.js';
import { redactRedisUrl } from './ready-line.js';

/** Where the service's Redis is, as people write it (sentinel:// and cluster:// are not URLs clients take). */
export function describeRedis(target: RedisTarget): string {
  // A password in REDIS_URL stays out of logs and error messages.
  if (target.kind === 'url') return redactRedisUrl(target.url);
  const hosts = (target.kind === 'sentinel' ? target.sentinels : target.nodes)
    .map((h) => `${h.host}:${h.port}`)
    .join(',');
  return target.kind === 'sentinel' ? `sentinel://${hosts}/${target.name}` : `cluster://${hosts}`;
}

/** Errors that say Redis is unreachable (or the connection dropped), which the reconnect warnings already report. */
const connectionErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    (code !== undefined && connectionErrorCodes.has(code)) ||
    /Connection is closed|connect ETIMEDOUT|All sentinels are unreachable|Failed to refresh slots cache/.test(
      err.message,
    )
  );
}

/**
 * One warning per reconnect step for the whole process, however many connections (a queue, its
 * events, a worker, the dashboard...) are retrying at the same time: during an outage each of them
 * would otherwise log every failed attempt, with a stack.
 */
class OutageLog {
  private loggedStep = 0;
  constructor(
    private readonly log: Logger,
    private readonly where: string,
  ) {}

  retrying(attempt: number, delayMs: number, cause: string | undefined): void {
    if (attempt <= this.loggedStep) return;
    this.loggedStep = attempt;
    this.log.warn(
      { attempt, retryInMs: delayMs, cause },
      `cannot reach Redis at ${this.where}${cause ? ` (${cause})` : ''}; retrying in ${delayMs} ms`,
    );
  }

  connected(): void {
    if (this.loggedStep === 0) return;
    this.loggedStep = 0;
    this.log.info(`Redis at ${this.where} is reachable again`);
  }
}

const outageLogs = new WeakMap<Logger, OutageLog>();

/** The process's outage log for `log` (one per logger, so every connection made with it shares it). */
export function outageLogFor(log: Logger, target: RedisTarget): OutageLog {
  let outageLog = outageLogs.get(log);
  if (!outageLog) outageLogs.set(log, (outageLog = new OutageLog(log, describeRedis(target))));
  return outageLog;
}

/**
 * An `error` listener for a BullMQ object (queue, events, worker): connection errors are already
 * reported once per reconnect step, so they go to debug; anything else is a warning.
 */
export function redisErrorListener(log: Logger, message: string, fields: Record<string, unknown> = {}) {
  return (err: unknown): void => {
    if (isConnectionError(err)) log.debug({ ...fields, err }, message);
    else log.warn({ ...fields, err }, message);
  };
}
