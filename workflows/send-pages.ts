import { patched } from '@temporalio/workflow';
import type { Channel } from '../common/config/config';
import type { FanOutOptions, SendMessageInput } from './send-message';
import { countMissingRecipients, type SendProgress } from './send-progress';
import {
  claimFailedDeliveries,
  loadAudiencePage,
  loadAudiencePageAndEnd,
  recordMissingRecipients,
  snapshotAudience,
} from './send-activities';

/**
 * Patch (docs/operations.md "Changing a workflow safely"): the first pages are dispatched while the audience snapshot
 * goes on, and the unknown recipients are recorded meanwhile, instead of one after the other.
 */
export const DISPATCH_DURING_SNAPSHOT = 'dispatch-during-snapshot';

/**
 * Patch: a page's copies of user documents are dropped once every dispatch of the page has ended (by the next
 * `loadAudiencePage`), not all at the end by `finishSend`, which then drops only the last pages.
 */
export const DROP_USERS_PER_PAGE = 'drop-users-per-page';

/**
 * Patch: pages say whether they are the last (`loadAudiencePageAndEnd`), since a page closed by its byte budget is
 * short yet not the last; a snapshot that failed for good fails the send with its error instead of being awaited
 * forever.
 */
export const AUDIENCE_PAGES_END = 'audience-pages-end';

/** One page of a send: the users its dispatches go to, per channel. */
export interface SendPage {
  byChannel: Partial<Record<Channel, string[]>>;
  recipients: number;
  last: boolean;
  /** The audience page number (absent for a retry's page of claimed deliveries). */
  page?: number;
  next: string | null;
}

/** Whether this run reads audience pages that say whether they are the last (`AUDIENCE_PAGES_END`). */
export function pagesKnowTheirEnd(retryRound: number | undefined): boolean {
  return retryRound === undefined && patched(AUDIENCE_PAGES_END);
}

/**
 * The start of a send's first run: records the unknown recipients and snapshots the audience (ids only, in pages).
 * Today both go on while the first pages are dispatched, and `snapshotting` settles once they are done (a failed
 * snapshot is left to the page source, which then fails); histories from before `DISPATCH_DURING_SNAPSHOT` took them
 * one after the other. A retry pages through its failed deliveries and takes neither.
 */
export async function startAudience(
  input: SendMessageInput,
  progress: SendProgress,
  knowTheirEnd: boolean,
): Promise<{ snapshotting: Promise<void> }> {
  const { sendId, channels, fanOut, retryRound } = input;
  const countMissing = (missing: number) => countMissingRecipients(progress, sendId, channels, missing);
  if (retryRound === undefined && patched(DROP_USERS_PER_PAGE)) progress.pagesToDrop = [];
  if (retryRound === undefined && patched(DISPATCH_DURING_SNAPSHOT)) {
    // All three start at once: a page is dispatched as soon as the snapshot has written it (loadAudiencePage
    // waits for it), and the audience is still the one of the moment the send started.
    const missingRecorded = recordMissingRecipients({ sendId }).then(countMissing);
    const snapshotTaken = snapshotAudience({ sendId, pageSize: fanOut.pageSize }).then((summary) => {
      progress.pageCount = summary.pages;
    });
    const snapshotting = knowTheirEnd
      ? // A failed snapshot is seen by the page loop; the unknown recipients are still recorded to the end.
        Promise.allSettled([missingRecorded, snapshotTaken]).then(([missing]) => {
          if (missing.status === 'rejected') throw missing.reason;
        })
      : Promise.all([missingRecorded, snapshotTaken]).then(() => undefined);
    // Awaited before the run ends; until then a failure must not count as unhandled.
    snapshotting.catch(() => undefined);
    return { snapshotting };
  }
  if (retryRound === undefined) {
    countMissing(await recordMissingRecipients({ sendId }));
    progress.pageCount = (await snapshotAudience({ sendId, pageSize: fanOut.pageSize })).pages;
  }
  return { snapshotting: Promise.resolve() };
}

/**
 * The page source: reads the page `progress` stands at, from the audience snapshot (waiting for the snapshot to
 * write it), or for a retry (`retryRound`) the next page of the send's failed deliveries, claimed for this round.
 * It hands the snapshot's copies of the users of finished pages (`progress.pagesToDrop`) to be dropped.
 */
export function pageSource(
  input: SendMessageInput,
  progress: SendProgress,
  knowTheirEnd: boolean,
): () => Promise<SendPage> {
  const { sendId, channels, fanOut, retryRound } = input;
  return async () => {
    if (retryRound !== undefined) {
      const claimed = await claimFailedDeliveries({
        sendId,
        round: retryRound,
        after: progress.after,
        limit: fanOut.pageSize,
      });
      const recipients = new Set(Object.values(claimed.byChannel).flat()).size;
      return { byChannel: claimed.byChannel, recipients, last: claimed.next === null, next: claimed.next };
    }
    if (progress.pageCount !== null && progress.pagesDone >= progress.pageCount) {
      // A full page read while the snapshot ran turned out to be its last.
      return { byChannel: {}, recipients: 0, last: true, page: progress.pagesDone, next: null };
    }
    const snapshotRunning = progress.pageCount === null;
    const dropUsersOf = progress.pagesToDrop?.splice(0) ?? [];
    if (knowTheirEnd) {
      const { userIds, last } = await loadAudiencePageAndEnd({
        sendId,
        page: progress.pagesDone,
        ...(dropUsersOf.length > 0 ? { dropUsersOf } : {}),
      });
      const byChannel = Object.fromEntries(channels.map((channel) => [channel, userIds]));
      return { byChannel, recipients: userIds.length, last, page: progress.pagesDone, next: null };
    }
    const userIds = await loadAudiencePage({
      sendId,
      page: progress.pagesDone,
      ...(snapshotRunning ? { wait: true } : {}),
      ...(dropUsersOf.length > 0 ? { dropUsersOf } : {}),
    });
    const byChannel = Object.fromEntries(channels.map((channel) => [channel, userIds]));
    // Only the snapshot's last page is short; a full one is the last when the finished snapshot says so.
    const last =
      progress.pageCount === null ? userIds.length < fanOut.pageSize : progress.pagesDone + 1 >= progress.pageCount;
    return { byChannel, recipients: userIds.length, last, page: progress.pagesDone, next: null };
  };
}

/**
 * Users per dispatch activity of a page: one by one (an activity per user and channel, visible in the UI) when the
 * whole send is one page of at most `perDeliveryLimit` users, `chunkSize` otherwise.
 */
export function batchSizeOf(page: SendPage, progress: SendProgress, fanOut: FanOutOptions): number {
  const firstAndOnlyPage = progress.pagesDone === 0 && page.last;
  return firstAndOnlyPage && page.recipients <= fanOut.perDeliveryLimit ? 1 : fanOut.chunkSize;
}

/** Splits a page's users of one channel into the batches of its dispatch activities. */
export function batchesOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
