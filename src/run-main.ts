import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';

export interface Closable {
  close(): Promise<void>;
}

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
 */
export async function runMain(role: string, start: (config: Config, log: Logger) => Promise<Closable>): Promise<void> {
  const config = loadConfigOrExit(role);
  const log = createLogger(config.logLevel, role);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  let running: Closable;
  try {
    running = await start(config, log);
  } catch (err) {
    log.fatal({ err }, `${role} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
  // Tells a supervising parent (src/main.ts forks the worker) that this process is up.
  process.send?.({ type: 'ready', role });
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // A closed terminal: shut down the same way, or `npm start`'s private redis-server outlives it.
  process.once('SIGHUP', stop);
}
