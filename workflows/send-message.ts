import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { SendActivities, DispatchInput, DispatchResult } from '../activities';
import type { Channel } from '../common/config/config';
import { NON_RETRYABLE_DISPATCH_FAILURES } from '../common/temporal/failure-types';
import { SEARCH_ATTRIBUTES } from '../common/temporal/search-attributes';
import { AUDIENCE_SNAPSHOT_FAILED, type SendStatus, type SendSummary } from '../common/domain/send-types';
import { dispatchUntilNotHandedBack } from './handed-back';
import {
  countDispatch,
  countMissingRecipients,
  initialProgress,
  progressQuery,
  type SendProgress,
} from './send-progress';

/** How a send pages and batches its audience; the API fills it from the configuration (`fanOut`). */
export interface FanOutOptions {
  /** Users per page of the audience snapshot (one activity reads one page). */
  pageSize: number;
  /** Read by the snapshot activity from the configuration: a page closes before its users pass this many bytes. */
  pageBytes?: number;
  /** Users per dispatch activity in large sends. */
  chunkSize: number;
  /** Sends of at most this many users get one activity per (user, channel), visible one by one in the UI. */
  perDeliveryLimit: number;
  /** Pages per workflow run before `continueAsNew`, which bounds every history whatever the audience. */
  pagesPerRun: number;
  /**
   * Dispatch activities in flight at once. The next page starts while the last batches of the previous one
   * finish, so one slow batch does not idle the worker. Absent: a page and a half's worth.
   */
  dispatchWindow?: number;
  /** A dispatch whose worker stops heartbeating for this long (a crash) is retried on another worker. */
  heartbeatTimeoutMs: number;
}

export interface DispatchRetryOptions {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

export interface SendMessageInput {
  sendId: string;
  channels: Channel[];
  fanOut: FanOutOptions;
  retry: DispatchRetryOptions;
  /** Carried across `continueAsNew`; absent on the first run. */
  progress?: SendProgress;
  /** Set for a retry (`POST /sends/:id/retry`): re-dispatch the send's failed deliveries, round n. */
  retryRound?: number;
  /** The send document this run reports to when it is not `sendId` (a retry reports to its own document too). */
  recordId?: string;
}

/**
 * Patch (docs/operations.md "Changing a workflow safely"): the first pages are dispatched while the audience snapshot goes on,
 * and the unknown recipients are recorded meanwhile, instead of one after the other.
 */
export const DISPATCH_DURING_SNAPSHOT = 'dispatch-during-snapshot';

/**
 * Patch: a page's copies of user documents are dropped once every dispatch of the page has ended (by the next
 * `loadAudiencePage`), not all at the end by `finishSend`, which then drops only the last pages.
 */
export const DROP_USERS_PER_PAGE = 'drop-users-per-page';

/**
 * Patch: pages say whether they are the last (`loadAudiencePageAndEnd`), since a page closed by its byte budget is short
 * yet not the last; a snapshot that failed for good fails the send with its error instead of being awaited forever.
 */
export const AUDIENCE_PAGES_END = 'audience-pages-end';

// Unlimited attempts: these only read and write our own stores or tell the Flow Manager, and must not be
// lost to an outage. The Flow Manager event in particular is retried until it answers 2xx (docs/operating-sends.md "Saga sends").
export const STORE_RETRY: RetryPolicy = { initialInterval: '1 second', maximumInterval: '30 seconds' };

// These heartbeat every few seconds while they run (activities/keep-alive.ts): a crashed worker is noticed
// within the heartbeat timeout, not the start-to-close timeout.
const { recordMissingRecipients, loadAudiencePage, loadAudiencePageAndEnd, claimFailedDeliveries, finishSend } =
  proxyActivities<SendActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '20 seconds',
    retry: STORE_RETRY,
  });

// One pass over the whole audience: as long as it takes, as long as it heartbeats (it resumes where it stopped).
const { snapshotAudience } = proxyActivities<SendActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: STORE_RETRY,
});

function dispatchers(
  retry: DispatchRetryOptions,
  heartbeatTimeoutMs: number,
): Record<Channel, (input: DispatchInput) => Promise<DispatchResult>> {
  // Attempts are unlimited here on purpose: per-delivery attempts are counted in the ledger (maxAttempts),
  // so a database or worker outage delays deliveries but never drops them.
  const activities = proxyActivities<SendActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      nonRetryableErrorTypes: NON_RETRYABLE_DISPATCH_FAILURES,
    },
  });
  return {
    email: activities.dispatchEmail,
    sms: activities.dispatchSms,
    push: activities.dispatchPush,
    voice: activities.dispatchVoice,
    whatsapp: activities.dispatchWhatsapp,
  };
}

/** Upserts `sendStatus` (and, once the send ends, `recipientCount`) for the Temporal UI's filters. */
function setSendStatus(status: SendStatus, recipients?: number): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.sendStatus, value: status },
    ...(recipients === undefined ? [] : [{ key: SEARCH_ATTRIBUTES.recipientCount, value: recipients }]),
  ]);
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

type Page = {
  byChannel: Partial<Record<Channel, string[]>>;
  recipients: number;
  last: boolean;
  /** The audience page number (absent for a retry's page of claimed deliveries). */
  page?: number;
  next: string | null;
};

/**
 * The whole send (docs/internals.md): records unknown recipients, snapshots the audience (ids only, in pages),
 * dispatches each page in batches per channel, and totals the ledger. Failed dispatches are already in the
 * ledger, so a failed activity does not fail the send. A retry (`retryRound`) pages through the send's failed
 * deliveries instead of its audience. Deterministic: no I/O, no clocks, activities imported as types.
 */
export async function runSend(
  input: SendMessageInput,
  continueRun: (next: SendMessageInput) => Promise<never>,
): Promise<SendSummary> {
  const { sendId, channels, fanOut, retry, retryRound } = input;
  const progress: SendProgress = input.progress ?? initialProgress(retryRound);
  setHandler(progressQuery, () => progress);
  const dispatch = dispatchers(retry, fanOut.heartbeatTimeoutMs);

  const countMissing = (missing: number) => countMissingRecipients(progress, sendId, channels, missing);
  const pagesKnowTheirEnd = retryRound === undefined && patched(AUDIENCE_PAGES_END);
  // The error of a snapshot that failed for good: the page loop stops and the send fails with it.
  let snapshotFailure: string | undefined;
  // The snapshot and the unknown recipients of a first run still being taken while its first pages go out.
  let snapshotting: Promise<void> = Promise.resolve();
  if (!input.progress) {
    log.info('send started', { sendId, channels, retryRound });
    setSendStatus('running');
    if (retryRound === undefined && patched(DROP_USERS_PER_PAGE)) progress.pagesToDrop = [];
    if (retryRound === undefined && patched(DISPATCH_DURING_SNAPSHOT)) {
      // All three start at once: a page is dispatched as soon as the snapshot has written it (loadAudiencePage
      // waits for it), and the audience is still the one of the moment the send started.
      const missingRecorded = recordMissingRecipients({ sendId }).then(countMissing);
      const snapshotTaken = snapshotAudience({ sendId, pageSize: fanOut.pageSize }).then((summary) => {
        progress.pageCount = summary.pages;
      });
      snapshotting = pagesKnowTheirEnd
        ? // A failed snapshot is seen by the page loop; the unknown recipients are still recorded to the end.
          Promise.allSettled([missingRecorded, snapshotTaken]).then(([missing]) => {
            if (missing.status === 'rejected') throw missing.reason;
          })
        : Promise.all([missingRecorded, snapshotTaken]).then(() => undefined);
      // Awaited before the run ends; until then a failure must not count as unhandled.
      snapshotting.catch(() => undefined);
    } else if (retryRound === undefined) {
      countMissing(await recordMissingRecipients({ sendId }));
      progress.pageCount = (await snapshotAudience({ sendId, pageSize: fanOut.pageSize })).pages;
    }
  }

  const nextPage = async (): Promise<Page> => {
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
    if (pagesKnowTheirEnd) {
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

  const batchesPerPage = channels.length * Math.ceil(fanOut.pageSize / fanOut.chunkSize);
  const window = Math.max(1, fanOut.dispatchWindow ?? Math.ceil(1.5 * batchesPerPage));
  const inFlight = new Set<Promise<void>>();
  // Dispatches in flight per page, and the page whose batches are being started: a page whose dispatches have all
  // ended joins `pagesToDrop`.
  const pageDispatches = new Map<number, number>();
  let pageStarting: number | undefined;
  const pageEnded = (page: number) => {
    if ((pageDispatches.get(page) ?? 0) > 0 || page === pageStarting) return;
    pageDispatches.delete(page);
    progress.pagesToDrop?.push(page);
  };
  const startDispatch = async (channel: Channel, userIds: string[], page: number | undefined) => {
    while (inFlight.size >= window) await Promise.race(inFlight);
    if (page !== undefined) pageDispatches.set(page, (pageDispatches.get(page) ?? 0) + 1);
    const running: Promise<void> = dispatchUntilNotHandedBack(() =>
      dispatch[channel]({
        sendId,
        userIds,
        page,
        maxAttempts: retry.maximumAttempts,
        // Only an activity's input changes (not a command): recorded histories replay as before.
        ...(retryRound !== undefined ? { retryRound } : {}),
      }),
    )
      .then(
        (result) => countDispatch(progress, channel, { sendId, userIds, page }, result),
        (error: unknown) => {
          // The ledger holds the failure (with its code); anything else is a bug worth failing on.
          if (!(error instanceof ActivityFailure)) throw error;
          countDispatch(progress, channel, { sendId, userIds, page }, 'failed');
        },
      )
      .finally(() => {
        progress.dispatchesDone++;
        inFlight.delete(running);
        if (page !== undefined) {
          pageDispatches.set(page, (pageDispatches.get(page) ?? 1) - 1);
          pageEnded(page);
        }
      });
    inFlight.add(running);
  };

  for (let pagesThisRun = 0; ; pagesThisRun++) {
    if (pagesThisRun >= fanOut.pagesPerRun) {
      await Promise.all(inFlight);
      await snapshotting;
      log.info('send continues as new', { sendId, pagesDone: progress.pagesDone });
      await continueRun({ ...input, progress });
    }
    let page: Page;
    try {
      page = await nextPage();
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : undefined;
      if (!(cause instanceof ApplicationFailure && cause.type === AUDIENCE_SNAPSHOT_FAILED)) throw error;
      snapshotFailure = cause.message;
      break;
    }
    const firstAndOnlyPage = progress.pagesDone === 0 && page.last;
    const batchSize = firstAndOnlyPage && page.recipients <= fanOut.perDeliveryLimit ? 1 : fanOut.chunkSize;
    pageStarting = page.page;
    for (const [channel, userIds] of Object.entries(page.byChannel) as [Channel, string[]][]) {
      for (const batch of chunk(userIds, batchSize)) await startDispatch(channel, batch, page.page);
    }
    pageStarting = undefined;
    if (page.page !== undefined && page.recipients > 0) pageEnded(page.page);
    progress.recipientsResolved += page.recipients;
    progress.pagesDone++;
    progress.after = page.next;
    if (page.last) break;
  }
  await Promise.all(inFlight);
  await snapshotting;

  const summary = await finishSend({
    sendId,
    recordId: input.recordId,
    workflowId: workflowInfo().workflowId,
    recipientCount: progress.recipientsResolved,
    ...(retryRound !== undefined ? { retryRound } : {}),
    ...(progress.counts ? { counts: progress.counts, batchesToRead: progress.batchesToRead ?? [] } : {}),
    ...(progress.pagesToDrop ? { pagesWithUsers: progress.pagesToDrop } : {}),
    ...(snapshotFailure !== undefined ? { failedWith: snapshotFailure } : {}),
  });
  progress.done = true;
  setSendStatus(summary.status, summary.recipients);
  log.info('send finished', {
    sendId,
    status: summary.status,
    failures: summary.failureCount,
    ...(summary.error ? { error: summary.error } : {}),
  });
  return summary;
}

export async function sendMessage(input: SendMessageInput): Promise<SendSummary> {
  return runSend(input, (next) => continueAsNew<typeof sendMessage>(next));
}
