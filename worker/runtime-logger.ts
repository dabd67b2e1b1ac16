import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { stdSerializers, type Logger as PinoLogger } from 'pino';

const PINO_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The Temporal SDK's logger over pino, installed on the worker's runtime: the worker's own lines, the activities'
 * context loggers (with `workflowId`, `activityType`, `attempt` added by the SDK) and the workflows' replay-aware
 * logger all become one JSON line each at `LOG_LEVEL`. The task token is dropped: it is an opaque credential of
 * the activity, useless in a log. The SDK passes errors as metadata (`error` of `Activity failed`, whose message
 * is a provider's answer and may quote the recipient): they are serialized with their message, causes and stack,
 * which the pino logger (`createLogger`) masks like every other string.
 */
export class PinoSdkLogger implements Logger {
  constructor(private readonly pino: PinoLogger) {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const { taskToken: _taskToken, ...fields } = meta;
    for (const [key, value] of Object.entries(fields)) {
      if (value instanceof Error) fields[key] = stdSerializers.err(value);
    }
    this.pino[PINO_LEVELS[level]](fields, message);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }

  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }

  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }

  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }

  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
