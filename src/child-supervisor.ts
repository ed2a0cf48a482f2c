import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from './logger.js';
import { RestartBackoff, type RestartBackoffOptions } from './restart-backoff.js';
import type { ChildMessage, ReadyFacts } from './run-main.js';

export interface ChildSupervisorOptions {
  /** Said in every log line and message about this child. */
  name: string;
  /** Module to fork; it runs with an IPC channel, whose closing tells it the supervisor is gone. */
  entry: string;
  env: NodeJS.ProcessEnv;
  /**
   * Starts the child process (default: child_process.fork of `entry`); API processes are forked
   * through node:cluster instead, so they share one listening port.
   */
  fork?: (entry: string, env: NodeJS.ProcessEnv) => ChildProcess;
  backoff: RestartBackoffOptions;
  log: Logger;
  /** The child has started and is serving (it sent `ready`, with what it said); called after every (re)start. */
  onReady?: (facts: Partial<ReadyFacts>) => void;
  /** The child cannot run (it reported a fatal start-up error, or crashed too often): one sentence why. */
  onGiveUp: (reason: string) => void;
}

export interface SupervisedChild {
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the child is gone. No restart follows. */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * Runs one child process and restarts it when it crashes (any exit not asked for, a SIGKILL
 * included), with exponential backoff; a child that reports a fatal start-up error (a missing
 * model, a busy port) or keeps crashing is given up on instead.
 */
export function superviseChild(options: ChildSupervisorOptions): SupervisedChild {
  const { name, log } = options;
  const backoff = new RestartBackoff(options.backoff);
  let child: ChildProcess | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  const start = () => {
    const startedAt = performance.now();
    let fatal: string | undefined;
    const current = (options.fork ?? ((entry, env) => fork(entry, { env })))(options.entry, options.env);
    child = current;
    log.info({ childPid: current.pid, child: name }, `${name} started`);
    current.on('message', (message: ChildMessage) => {
      if (message?.type === 'fatal') fatal = message.message;
      if (message?.type === 'ready') options.onReady?.(message);
    });
    current.once('exit', (code, signal) => {
      if (stopping) return;
      if (fatal !== undefined) return options.onGiveUp(fatal);
      const delayMs = backoff.next(performance.now() - startedAt);
      if (delayMs === undefined) {
        return options.onGiveUp(
          `the ${name} crashed ${backoff.count} times in a row (last exit: ${signal ?? `code ${code}`}); ` +
            'giving up, see its log above',
        );
      }
      log.error({ code, signal, crashes: backoff.count, delayMs }, `${name} exited; restarting in ${delayMs} ms`);
      restartTimer = setTimeout(start, delayMs);
    });
  };
  start();

  return {
    stop: async (timeoutMs) => {
      stopping = true;
      clearTimeout(restartTimer);
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = once(current, 'exit');
      current.kill('SIGTERM');
      const timer = setTimeout(() => {
        log.warn({ child: name, timeoutMs }, `${name} did not stop in time; killing it`);
        current.kill('SIGKILL');
      }, timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
