import { condition, log, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { SendActivities } from '../activities';
import type { Channel } from '../common/config/config';
import { cancelSendSignal } from '../common/temporal/send-signals';
import type { DispatchWindow } from './dispatch-window';
import { batchesOf } from './send-pages';
import type { SendProgress } from './send-progress';
import { STORE_RETRY } from './send-activities';

/**
 * Patch (docs/operations.md "Changing a workflow safely"): a first run's dispatches defer the deliveries whose users are
 * inside their quiet hours, and the send releases them once the pages are done, on one durable timer per release
 * minute. A history without the marker sent them at once, and replays so.
 */
export const QUIET_HOURS_DEFER = 'quiet-hours-defer';

const { claimDeferredDeliveries } = proxyActivities<SendActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: STORE_RETRY,
});

/** A send's first run from this version on keeps its deferred releases in `progress` (a retry round defers nothing). */
export function startDeferring(progress: SendProgress, retryRound: number | undefined): void {
  if (retryRound === undefined && patched(QUIET_HOURS_DEFER)) {
    progress.deferred = { minutes: [], after: null, pagesEnded: false };
  }
}

/** What `releaseDeferred` needs of the send's run. */
export interface ReleaseOptions {
  sendId: string;
  /** Deliveries claimed per page, as the audience's pages. */
  pageSize: number;
  /** Users per released dispatch activity. */
  chunkSize: number;
  /** Pages per run before `continueAsNew`, counted with the audience's pages of this run. */
  pagesPerRun: number;
  /** The send's dispatch window: released batches start as the audience's did. */
  window: DispatchWindow;
  /** Dispatches one batch of released deliveries through the ordinary path and counts it (`countReleased`). */
  dispatchReleased: (channel: Channel, userIds: string[]) => Promise<void>;
  /** Continues the send as new with its progress (which says where the releases stand). */
  continueAsNew: () => Promise<never>;
}

/**
 * Wakes on the send's cancel (`cancelSendSignal`, sent after the cancel record is written) while the releases wait.
 * Set as soon as the send runs, so a cancel that comes while its pages go out is not taken by a handler of before.
 */
export class CancelWatch {
  cancelled = false;

  constructor(progress: SendProgress) {
    if (!progress.deferred) return;
    setHandler(cancelSendSignal, () => {
      this.cancelled = true;
    });
  }
}

/**
 * The releases of a send's deliveries held by quiet hours (docs/preferences.md "Quiet hours"), once every page is
 * dispatched: for each distinct release minute in order, one durable timer, then its due deliveries are claimed back
 * a page at a time (`claimDeferredDeliveries`) and dispatched in batches like the audience's, through the same window.
 * A cancel wakes the timer; the claims then find the cancel record and record every delivery still deferred
 * `cancelled`. The history grows with the minutes and the released pages, and continues as new every `pagesPerRun`
 * pages, as the audience's pages do. Nothing happens for a send that keeps no releases.
 */
export async function releaseDeferred(
  progress: SendProgress,
  cancel: CancelWatch,
  pagesThisRun: number,
  options: ReleaseOptions,
): Promise<void> {
  const deferred = progress.deferred;
  if (!deferred) return;
  deferred.pagesEnded = true;
  const { sendId, window } = options;
  let pages = pagesThisRun;
  // Whether this run's claims have met the cancel: the first such claim may start past deliveries of later minutes.
  let cancelling = false;
  while (deferred.minutes.length > 0) {
    const minute = deferred.minutes[0];
    const wait = minute - Date.now();
    if (!cancel.cancelled && wait > 0) {
      log.info('send waits for quiet hours to end', { sendId, releaseAt: new Date(minute).toISOString() });
      await condition(() => cancel.cancelled, wait);
    }
    for (;;) {
      if (pages >= options.pagesPerRun) {
        await window.drain();
        log.info('send continues as new', { sendId, releasing: new Date(minute).toISOString() });
        await options.continueAsNew();
      }
      const after = deferred.after;
      const claimed = await claimDeferredDeliveries({
        sendId,
        releaseAt: new Date(minute).toISOString(),
        after,
        limit: options.pageSize,
      });
      pages++;
      deferred.after = claimed.next;
      if (claimed.cancelled !== undefined) {
        // Recorded `cancelled` in the ledger: the counts kept can no longer say how the send ended.
        progress.counts = null;
        if (!cancelling && after !== null) {
          // Cancelled ones are no longer `deferred`: starting over from the first key only finds those left.
          cancelling = true;
          deferred.after = null;
          continue;
        }
        cancelling = true;
        if (claimed.next !== null) continue;
        // Every minute's deliveries at once: none is left to wait for (the last minute goes below).
        deferred.minutes.splice(0, deferred.minutes.length - 1);
        break;
      }
      for (const [channel, userIds] of Object.entries(claimed.byChannel) as [Channel, string[]][]) {
        for (const batch of batchesOf(userIds, options.chunkSize)) {
          await window.start(undefined, () => options.dispatchReleased(channel, batch));
        }
      }
      if (claimed.next === null) break;
    }
    deferred.minutes.shift();
    deferred.after = null;
  }
  await window.drain();
}
