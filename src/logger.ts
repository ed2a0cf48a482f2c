import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; `role` tells api, worker and main apart when they share a terminal. */
export function createLogger(level: string, role: string): Logger {
  return pino({ level, base: { role, pid: process.pid } });
}
