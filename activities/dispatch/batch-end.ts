import { ApplicationFailure } from '@temporalio/activity';
import type { Channel } from '../../common/config/config';
import { FAILURE_TYPES } from '../../common/temporal/failure-types';
import type { Attempt } from './deliver';

/**
 * How a dispatch batch ends when not every delivery is final, shared by `/send`'s and `/messages`' dispatches: the
 * activity fails, and Temporal's retry takes up what is still pending (the ledger says which).
 */

/**
 * Stopped early (cancelled: its heartbeat timed out, the worker's shutdown grace ran out, the workflow was cancelled;
 * or close to its start-to-close timeout): what was never attempted stays pending for the next attempt.
 */
export function failIfNotAllAttempted(channel: Channel, noun: string, pending: number, attempted: number): void {
  if (attempted >= pending) return;
  throw ApplicationFailure.create({
    type: FAILURE_TYPES.cancelled,
    message: `${pending - attempted} of ${pending} ${channel} ${noun} were not attempted: the attempt was cancelled or ran out of time`,
  });
}

/**
 * Transient failures: a retryable failure carrying the first one's code and the batch's result, retried after the
 * longest `Retry-After` a provider asked for (else the retry policy's backoff).
 */
export function failIfRetrying(
  channel: Channel,
  noun: string,
  pending: number,
  retrying: Attempt[],
  result: object,
): void {
  if (retrying.length === 0) return;
  const first = retrying[0].outcome;
  const retryAfterMs = Math.max(0, ...retrying.map((attempt) => attempt.retryAfterMs ?? 0));
  throw ApplicationFailure.create({
    type: FAILURE_TYPES.transientProvider,
    message: `${retrying.length} of ${pending} ${channel} ${noun} will be retried: ${first.error}`,
    details: [{ code: first.code, result }],
    nextRetryDelay: retryAfterMs > 0 ? retryAfterMs : undefined,
  });
}
