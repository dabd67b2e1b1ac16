import pino, { type Logger } from 'pino';

/** Structured logs, one line per event (STYLE.md §10): ids and channels, never message bodies. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level });
}
