import { Context } from '@temporalio/activity';

/** Heartbeat period of activities that run one long store call; their heartbeat timeout is a few periods. */
export const KEEP_ALIVE_EVERY_MS = 5_000;

/**
 * Heartbeats while `work` runs, so that Temporal notices a crashed worker within the activity's heartbeat
 * timeout (seconds) instead of its start-to-close timeout (minutes), even when the work is one long query.
 * `details` gives what each heartbeat records (an activity that resumes from its heartbeat needs them).
 */
export async function keepAlive<T>(work: () => Promise<T>, details?: () => unknown): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(details?.()), KEEP_ALIVE_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
