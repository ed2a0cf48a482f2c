import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Structured JSON lines on stdout, what log collectors read; on a terminal, pino-pretty's
 * coloured one-liners instead, for the person who ran `npm start`. `role` tells api, worker and
 * main apart when they share a terminal.
 */
export function createLogger(level: string, role: string): Logger {
  const options = { level, base: { role, pid: process.pid } };
  if (!process.stdout.isTTY) return pino(options);
  // Synchronous, in this thread: a crash message is on screen before the process ends.
  return pino(
    options,
    pretty({
      colorize: true,
      sync: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,role',
      messageFormat: '{role}: {msg}',
      singleLine: true,
    }),
  );
}
