import type { Writable } from 'node:stream';
import pinoPretty from 'pino-pretty';

/**
 * The worker's and the API's log lines as `npm run dev` prints them: one readable line per event
 * (`[12:00:01.234] INFO (worker): worker started {"taskQueue":"messaging"}`). The processes themselves keep writing
 * pino's JSON, the production format; only the dev supervisor reads it this way. A line that is not JSON passes
 * through as it is.
 */
export function readableLogLines(destination: Writable = process.stdout): Writable {
  return pinoPretty({
    destination,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    colorize: destination === process.stdout && process.stdout.isTTY === true,
  });
}
