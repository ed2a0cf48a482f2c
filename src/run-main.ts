import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { StartupError } from './startup-error.js';

/** What a started API tells its supervisor with `ready`: where it listens, and what it serves. */
export interface ReadyFacts {
  port: number;
  models: string[];
}

export interface Closable {
  close(): Promise<void>;
  /** Sent with `ready` to a supervising parent. */
  readonly ready?: ReadyFacts;
}

/** What a child tells its supervisor over the IPC channel. */
export type ChildMessage = { type: 'fatal'; message: string } | ({ type: 'ready' } & Partial<ReadyFacts>);

/** Parses the environment; a bad variable stops the process (exit 1) with one line naming it. */
export function loadConfigOrExit(role: string): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${role}: ${err.message}\n`);
    process.exit(1);
  }
}

/**
 * The shape shared by every service entry point: parse config (a bad variable stops start-up with
 * its name), start, and on SIGTERM/SIGINT/SIGHUP close in order and exit 0. Start-up failures exit 1 with
 * one clear line. A stray rejection is logged, not fatal: accepted work must not die with it.
 * A process started by a supervisor (it has an IPC channel) also shuts down when the channel
 * closes: the supervisor is gone, even if it was killed with SIGKILL and could not tell us.
 */
export async function runMain(role: string, start: (config: Config, log: Logger) => Promise<Closable>): Promise<void> {
  const config = loadConfigOrExit(role);
  const log = createLogger(config.telemetry.logLevel, role);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  const supervised = typeof process.send === 'function';

  let running: Closable | undefined;
  let stopping = false;
  const stop = (reason: string, timeoutMs = config.processes.shutdownTimeoutMs) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs).unref();
    (running?.close() ?? Promise.resolve()).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // A closed terminal: shut down the same way, or `npm start`'s private redis-server outlives it.
  process.once('SIGHUP', () => stop('SIGHUP'));
  // Orphaned: nobody will wait for a long graceful close, so it gets a few seconds at most.
  if (supervised)
    process.once('disconnect', () => stop('supervisor gone', Math.min(config.processes.shutdownTimeoutMs, 5000)));

  try {
    running = await start(config, log);
  } catch (err) {
    const message =
      err instanceof StartupError ? `${role}: ${err.message}` : `${role} failed to start: ${(err as Error).message}`;
    // A supervised child's sentence is printed by its supervisor, so it appears once.
    if (err instanceof StartupError) {
      if (!supervised) process.stderr.write(`${message}\n`);
    } else log.fatal({ err }, message);
    // The supervisor must hear why before it sees the exit, so exit only once the message is out.
    if (supervised) process.send!({ type: 'fatal', message } satisfies ChildMessage, () => process.exit(1));
    else process.exit(1);
    return;
  }
  // Tells a supervising parent (src/main.ts forks the worker) that this process is up.
  if (supervised) process.send!({ type: 'ready', ...running.ready } satisfies ChildMessage);
}
