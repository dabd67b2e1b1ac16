import { defineQuery } from '@temporalio/workflow';
import type { DispatchResult } from '../activities';
import type { Channel } from '../common/config/config';
import { addReleaseMinutes, totalDeferred } from '../common/domain/quiet-hours-release';
import { addCounts, batchCountsKey, missingRecipientsKey, type DeliveryCounts } from '../common/domain/send-types';

/**
 * Where a send stands, carried across `continueAsNew` and answered by the `progress` query, with the counts it keeps
 * as it goes (docs/internals.md): pure functions of the workflow's history, so replays add up the same.
 */
export interface SendProgress {
  /** For a retry: the last ledger key claimed. */
  after: string | null;
  /** Pages in the audience snapshot (for a retry: unknown until the last page, null). */
  pageCount: number | null;
  /** Recipients whose dispatches have started. */
  recipientsResolved: number;
  /** Pages whose dispatches have started; the next page to start. */
  pagesDone: number;
  dispatchesDone: number;
  missingRecipients: number;
  done: boolean;
  /**
   * The send's counts so far, from the results of its finished dispatches (docs/internals.md: counts kept as the send
   * goes), so that `finishSend` and `GET /sends/:id` need not total the ledger. Absent for a retry and for a send
   * that started before they were kept; null once they could not be kept (the ledger is totalled instead).
   */
  counts?: DeliveryCounts | null;
  /** Keys of batches whose results could not carry their counts (`batch_counts`), read by `finishSend`. */
  batchesToRead?: string[];
  /**
   * Pages whose dispatches have all ended and whose snapshot still holds user documents, dropped by the next
   * `loadAudiencePage` or by `finishSend`. Absent for a send that drops them all at the end.
   */
  pagesToDrop?: number[];
  /**
   * Deliveries held by quiet hours (docs/preferences.md "Quiet hours"), released after the pages on one durable timer
   * per distinct minute (workflows/quiet-hours-release.ts). Absent for a send that does not defer them.
   */
  deferred?: DeferredReleases;
}

/** The releases a send still has to make, carried across `continueAsNew`. */
export interface DeferredReleases {
  /** Release minutes still to wait for (epoch milliseconds, ascending, each once); the first is being released. */
  minutes: number[];
  /** Within the first minute: the last ledger key released (null: none yet). */
  after: string | null;
  /** Every page has been dispatched: a continued run goes straight to the releases. */
  pagesEnded: boolean;
}

/** The progress of a send's first run; a retry (`retryRound`) keeps no counts of its own. */
export function initialProgress(retryRound: number | undefined): SendProgress {
  return {
    after: null,
    pageCount: null,
    recipientsResolved: 0,
    pagesDone: 0,
    dispatchesDone: 0,
    missingRecipients: 0,
    done: false,
    ...(retryRound === undefined ? { counts: {}, batchesToRead: [] } : {}),
  };
}

/** Live progress of a send: the Temporal UI's Queries tab, `GET /sends/:id`. */
export const progressQuery = defineQuery<SendProgress>('progress');

/** Beyond this many batches to read, the counts are given up and `finishSend` totals the ledger. */
const MAX_BATCHES_TO_READ = 2000;

/** Adds one finished dispatch to the counts kept in `progress` (a pure function of the workflow's history). */
export function countDispatch(
  progress: SendProgress,
  channel: Channel,
  batch: { sendId: string; userIds: string[]; page?: number },
  result: DispatchResult | 'failed',
): void {
  if (result !== 'failed' && progress.deferred) addReleaseMinutes(progress.deferred.minutes, result.deferred);
  const counts = progress.counts;
  if (!counts) return;
  if (sentAllItsOwn(result)) {
    addCounts(counts, channel, {
      sent: result.sent,
      skipped: result.skipped,
      deferred: totalDeferred(result.deferred),
    });
  } else if (batch.page !== undefined && (progress.batchesToRead ?? []).length < MAX_BATCHES_TO_READ) {
    // Some were done before, failed or were cancelled: the dispatch stored its batch's final counts and failures
    // (activities/dispatch/dispatch-deliveries.ts recordBatchCounts).
    (progress.batchesToRead ??= []).push(batchCountsKey(batch.sendId, channel, batch.page, batch.userIds[0]));
  } else {
    progress.counts = null;
  }
}

/** A dispatch whose result says all it did: none done before, none failed, not cancelled. */
function sentAllItsOwn(result: DispatchResult | 'failed'): result is DispatchResult {
  return result !== 'failed' && result.alreadyDone === 0 && result.failed === 0 && !result.cancelled;
}

/**
 * Adds one finished dispatch of released deliveries to the counts: they leave `deferred` for what they became. One
 * that cannot say it all (some done before, failed or cancelled) gives the counts up: `finishSend` totals the ledger.
 */
export function countReleased(progress: SendProgress, channel: Channel, result: DispatchResult | 'failed'): void {
  const counts = progress.counts;
  if (!counts) return;
  if (sentAllItsOwn(result)) {
    addCounts(counts, channel, {
      sent: result.sent,
      skipped: result.skipped,
      deferred: -(result.sent + result.skipped),
    });
  } else {
    progress.counts = null;
  }
}

/** Counts the listed recipient ids that match no user: each a USER_NOT_FOUND failure on every channel, in the ledger. */
export function countMissingRecipients(
  progress: SendProgress,
  sendId: string,
  channels: Channel[],
  missing: number,
): void {
  progress.missingRecipients = missing;
  const counts = progress.counts;
  if (!counts || missing === 0) return;
  for (const channel of channels) addCounts(counts, channel, { failed: missing });
  // Their first failures, stored by recordMissingRecipients.
  progress.batchesToRead?.push(missingRecipientsKey(sendId));
}
