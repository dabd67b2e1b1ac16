import {
  ActivityFailure,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  defineQuery,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { SendActivities, DispatchInput, DispatchResult } from '../activities';
import type { Channel } from '../common/config';
import { NON_RETRYABLE_DISPATCH_FAILURES } from '../common/failure-types';
import type { SagaFailEvent } from '../common/saga-fail-events';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes';
import {
  batchCountsKey,
  missingRecipientsKey,
  type DeliveryCounts,
  type SendStatus,
  type SendSummary,
} from '../common/types';

/** How a send pages and batches its audience; the API fills it from the configuration (`fanOut`). */
export interface FanOutOptions {
  /** Users per page of the audience snapshot (one activity reads one page). */
  pageSize: number;
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
   * The send's counts so far, from the results of its finished dispatches (README "Design": counts kept as the send
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
}

/**
 * Patch (README "Changing a workflow safely"): the first pages are dispatched while the audience snapshot goes on,
 * and the unknown recipients are recorded meanwhile, instead of one after the other.
 */
export const DISPATCH_DURING_SNAPSHOT = 'dispatch-during-snapshot';

/**
 * Patch: a page's copies of user documents are dropped once every dispatch of the page has ended (by the next
 * `loadAudiencePage`), not all at the end by `finishSend`, which then drops only the last pages.
 */
export const DROP_USERS_PER_PAGE = 'drop-users-per-page';

/** Beyond this many batches to read, the counts are given up and `finishSend` totals the ledger. */
const MAX_BATCHES_TO_READ = 2000;

/** Adds one finished dispatch to the counts kept in `progress` (a pure function of the workflow's history). */
function countDispatch(
  progress: SendProgress,
  channel: Channel,
  batch: { sendId: string; userIds: string[]; page?: number },
  result: DispatchResult | 'failed',
): void {
  const counts = progress.counts;
  if (!counts) return;
  const add = (status: 'sent' | 'failed' | 'skipped', count: number) => {
    if (count === 0) return;
    const perChannel = (counts[channel] ??= {});
    perChannel[status] = (perChannel[status] ?? 0) + count;
  };
  if (result !== 'failed' && result.alreadyDone === 0 && result.failed === 0) {
    add('sent', result.sent);
    add('failed', result.failed);
    add('skipped', result.skipped);
  } else if (batch.page !== undefined && (progress.batchesToRead ?? []).length < MAX_BATCHES_TO_READ) {
    // Some were done before, or failed: the dispatch stored its batch's final counts and failures
    // (activities/dispatch/dispatch-deliveries.ts recordBatchCounts).
    (progress.batchesToRead ??= []).push(batchCountsKey(batch.sendId, channel, batch.page, batch.userIds[0]));
  } else {
    progress.counts = null;
  }
}

/** Live progress of a send: the Temporal UI's Queries tab, `GET /sends/:id`. */
export const progressQuery = defineQuery<SendProgress>('progress');

// Unlimited attempts: these only read and write our own stores or tell the Flow Manager, and must not be
// lost to an outage. The Flow Manager event in particular is retried until it answers 2xx (README "Saga sends").
const STORE_RETRY: RetryPolicy = { initialInterval: '1 second', maximumInterval: '30 seconds' };

// These heartbeat every few seconds while they run (activities/keep-alive.ts): a crashed worker is noticed
// within the heartbeat timeout, not the start-to-close timeout.
const { recordMissingRecipients, loadAudiencePage, claimFailedDeliveries, finishSend, notifyFlowManager } =
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
 * The whole send (README "Design"): records unknown recipients, snapshots the audience (ids only, in pages),
 * dispatches each page in batches per channel, and totals the ledger. Failed dispatches are already in the
 * ledger, so a failed activity does not fail the send. A retry (`retryRound`) pages through the send's failed
 * deliveries instead of its audience. Deterministic: no I/O, no clocks, activities imported as types.
 */
async function runSend(
  input: SendMessageInput,
  continueRun: (next: SendMessageInput) => Promise<never>,
): Promise<SendSummary> {
  const { sendId, channels, fanOut, retry, retryRound } = input;
  const progress: SendProgress = input.progress ?? {
    after: null,
    pageCount: null,
    recipientsResolved: 0,
    pagesDone: 0,
    dispatchesDone: 0,
    missingRecipients: 0,
    done: false,
    ...(retryRound === undefined ? { counts: {}, batchesToRead: [] } : {}),
  };
  setHandler(progressQuery, () => progress);
  const dispatch = dispatchers(retry, fanOut.heartbeatTimeoutMs);

  const countMissing = (missing: number) => {
    progress.missingRecipients = missing;
    // Each is a USER_NOT_FOUND failure on every channel, in the ledger.
    const counts = progress.counts;
    if (!counts || missing === 0) return;
    for (const channel of channels) {
      const perChannel = (counts[channel] ??= {});
      perChannel.failed = (perChannel.failed ?? 0) + missing;
    }
    // Their first failures, stored by recordMissingRecipients.
    progress.batchesToRead?.push(missingRecipientsKey(sendId));
  };
  // The snapshot and the unknown recipients of a first run still being taken while its first pages go out.
  let snapshotting: Promise<void> = Promise.resolve();
  if (!input.progress) {
    log.info('send started', { sendId, channels, retryRound });
    setSendStatus('running');
    if (retryRound === undefined && patched(DROP_USERS_PER_PAGE)) progress.pagesToDrop = [];
    if (retryRound === undefined && patched(DISPATCH_DURING_SNAPSHOT)) {
      // All three start at once: a page is dispatched as soon as the snapshot has written it (loadAudiencePage
      // waits for it), and the audience is still the one of the moment the send started.
      snapshotting = Promise.all([
        recordMissingRecipients({ sendId }).then(countMissing),
        snapshotAudience({ sendId, pageSize: fanOut.pageSize }).then((summary) => {
          progress.pageCount = summary.pages;
        }),
      ]).then(() => undefined);
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
    const running: Promise<void> = dispatch[channel]({ sendId, userIds, page, maxAttempts: retry.maximumAttempts })
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
    const page = await nextPage();
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
    ...(progress.counts ? { counts: progress.counts, batchesToRead: progress.batchesToRead ?? [] } : {}),
    ...(progress.pagesToDrop ? { pagesWithUsers: progress.pagesToDrop } : {}),
  });
  progress.done = true;
  setSendStatus(summary.status, summary.recipients);
  log.info('send finished', { sendId, status: summary.status, failures: summary.failureCount });
  return summary;
}

export async function sendMessage(input: SendMessageInput): Promise<SendSummary> {
  return runSend(input, (next) => continueAsNew<typeof sendMessage>(next));
}

export interface SagaSendInput extends SendMessageInput {
  saga: { sagaId: string; successEventLabel?: string; failEventLabel?: string };
}

/**
 * `/saga/send` (README "Saga sends"): the same send, then the Flow Manager event — the success label, or the fail label
 * when every dispatch failed or the send itself failed. The event activity retries until the Flow Manager
 * answers 2xx; without a label for the outcome no event is sent.
 */
export async function sagaSendMessage(input: SagaSendInput): Promise<SendSummary> {
  const { sagaId, successEventLabel, failEventLabel } = input.saga;
  let summary: SendSummary;
  try {
    summary = await runSend(input, (next) => continueAsNew<typeof sagaSendMessage>({ ...input, ...next }));
  } catch (error) {
    if (isCancellation(error) || error instanceof ContinueAsNew) throw error;
    if (failEventLabel) await notifyFlowManager({ sagaId, messageLabel: failEventLabel, sendId: input.sendId });
    throw error;
  }
  const label = summary.status === 'failed' ? failEventLabel : successEventLabel;
  if (label) await notifyFlowManager({ sagaId, messageLabel: label, sendId: input.sendId });
  return summary;
}

/**
 * The fail event of a saga command refused (4xx or 5xx) before any send started (README "Saga sends"). The API starts
 * it with the saga's own workflow id (`saga-<sagaId>`), so a redelivered command does not send it twice and a saga
 * whose send has started gets no fail event from here; `notifyFlowManager` retries until the Flow Manager answers 2xx.
 */
export async function sagaFailEvent(event: SagaFailEvent): Promise<void> {
  await notifyFlowManager({ sagaId: event.sagaId, messageLabel: event.messageLabel });
}
