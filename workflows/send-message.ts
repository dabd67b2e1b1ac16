import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  log,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DispatchInput, DispatchResult } from '../activities';
import type { Channel } from '../common/config/config';
import { SEARCH_ATTRIBUTES } from '../common/temporal/search-attributes';
import { AUDIENCE_SNAPSHOT_FAILED, type SendStatus, type SendSummary } from '../common/domain/send-types';
import { DispatchWindow, dispatchWindowSize } from './dispatch-window';
import { dispatchUntilNotHandedBack } from './handed-back';
import { sendInputOf } from './recurring-send';
import { dispatchers, finishSend } from './send-activities';
import { waitForSendAt, waitsForSendAt } from './send-at';
import { batchesOf, batchSizeOf, pageSource, pagesKnowTheirEnd, startAudience, type SendPage } from './send-pages';
import { countDispatch, countReleased, initialProgress, progressQuery, type SendProgress } from './send-progress';
import { CancelWatch, releaseDeferred, startDeferring } from './quiet-hours-release';

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
  /** A scheduled send: the instant (ISO 8601) it waits for before anything else (`workflows/send-at.ts`). */
  sendAt?: string;
  /** Set by a recurring send's schedule (its id): the firing records its own send document (recurring-send.ts). */
  firingOf?: string;
}

/** Upserts `sendStatus` (and, once the send ends, `recipientCount`) for the Temporal UI's filters. */
function setSendStatus(status: SendStatus, recipients?: number): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.sendStatus, value: status },
    ...(recipients === undefined ? [] : [{ key: SEARCH_ATTRIBUTES.recipientCount, value: recipients }]),
  ]);
}

/**
 * One batch through its channel's dispatch activity (again while it hands the batch back), counted in `progress` as
 * it ends. A failed dispatch does not fail the send: the ledger holds the failure, with its code.
 */
function dispatchAndCount(
  dispatch: (input: DispatchInput) => Promise<DispatchResult>,
  progress: SendProgress,
  channel: Channel,
  batch: { sendId: string; userIds: string[]; page: number | undefined },
  attempts: { maxAttempts: number; retryRound: number | undefined; quietHours?: 'defer' | 'released' },
): Promise<void> {
  const { sendId, userIds, page } = batch;
  const { maxAttempts, retryRound, quietHours } = attempts;
  const count = (result: DispatchResult | 'failed') =>
    quietHours === 'released'
      ? countReleased(progress, channel, result)
      : countDispatch(progress, channel, { sendId, userIds, page }, result);
  return dispatchUntilNotHandedBack(() =>
    dispatch({
      sendId,
      userIds,
      page,
      maxAttempts,
      // Only an activity's input changes (not a command): recorded histories replay as before.
      ...(retryRound !== undefined ? { retryRound } : {}),
      ...(quietHours ? { quietHours } : {}),
    }),
  ).then(
    (result) => count(result),
    (error: unknown) => {
      // Anything but an activity's failure is a bug worth failing on.
      if (!(error instanceof ActivityFailure)) throw error;
      count('failed');
    },
  );
}

/** The error of a snapshot that failed for good, which fails the send; any other error is thrown on. */
function snapshotFailureOf(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  if (!(cause instanceof ApplicationFailure && cause.type === AUDIENCE_SNAPSHOT_FAILED)) throw error;
  return cause.message;
}

/**
 * The whole send (docs/internals.md): records unknown recipients, snapshots the audience (ids only, in pages),
 * dispatches each page in batches per channel, and totals the ledger. Failed dispatches are already in the
 * ledger, so a failed activity does not fail the send. A retry (`retryRound`) pages through the send's failed
 * deliveries instead of its audience. Deterministic: no I/O, no clocks, activities imported as types.
 *
 * The steps are split out (the page source in send-pages.ts, the dispatch window in dispatch-window.ts, the counts
 * in send-progress.ts) but await as they did inline: the commands come in the order of the recorded histories.
 */
export async function runSend(
  input: SendMessageInput,
  continueRun: (next: SendMessageInput) => Promise<never>,
): Promise<SendSummary> {
  const { sendId, channels, fanOut, retry, retryRound } = input;
  const progress: SendProgress = input.progress ?? initialProgress(retryRound);
  setHandler(progressQuery, () => progress);
  const dispatch = dispatchers(retry, fanOut.heartbeatTimeoutMs);

  const knowTheirEnd = pagesKnowTheirEnd(retryRound);
  // The snapshot and the unknown recipients of a first run still being taken while its first pages go out.
  let snapshotting: Promise<void> = Promise.resolve();
  if (!input.progress) {
    if (waitsForSendAt(input.sendAt, retryRound === undefined) && !(await waitForSendAt(sendId, input.sendAt))) {
      log.info('scheduled send cancelled', { sendId });
      return finish(input, progress, undefined, true);
    }
    log.info('send started', { sendId, channels, retryRound });
    setSendStatus('running');
    startDeferring(progress, retryRound);
    ({ snapshotting } = await startAudience(input, progress, knowTheirEnd));
  }
  const nextPage = pageSource(input, progress, knowTheirEnd);
  const window = new DispatchWindow({
    size: dispatchWindowSize(fanOut, channels),
    onDispatchEnded: () => progress.dispatchesDone++,
    onPageEnded: (page) => progress.pagesToDrop?.push(page),
  });
  const attempts = {
    maxAttempts: retry.maximumAttempts,
    retryRound,
    ...(progress.deferred ? { quietHours: 'defer' as const } : {}),
  };
  const cancel = new CancelWatch(progress);

  // The error of a snapshot that failed for good: the page loop stops and the send fails with it.
  let snapshotFailure: string | undefined;
  let pagesThisRun = 0;
  // A run continued while deferred deliveries were being released has no page left.
  for (; !progress.deferred?.pagesEnded; pagesThisRun++) {
    if (pagesThisRun >= fanOut.pagesPerRun) {
      await window.drain();
      await snapshotting;
      log.info('send continues as new', { sendId, pagesDone: progress.pagesDone });
      await continueRun({ ...input, progress });
    }
    let page: SendPage;
    try {
      page = await nextPage();
    } catch (error) {
      snapshotFailure = snapshotFailureOf(error);
      break;
    }
    const batchSize = batchSizeOf(page, progress, fanOut);
    window.beginPage(page.page);
    for (const [channel, userIds] of Object.entries(page.byChannel) as [Channel, string[]][]) {
      for (const batch of batchesOf(userIds, batchSize)) {
        const batchOfPage = { sendId, userIds: batch, page: page.page };
        await window.start(page.page, () =>
          dispatchAndCount(dispatch[channel], progress, channel, batchOfPage, attempts),
        );
      }
    }
    window.endPage(page.page, page.recipients > 0);
    progress.recipientsResolved += page.recipients;
    progress.pagesDone++;
    progress.after = page.next;
    if (page.last) break;
  }
  await window.drain();
  await snapshotting;
  if (snapshotFailure === undefined) {
    await releaseDeferred(progress, cancel, pagesThisRun, {
      sendId,
      pageSize: fanOut.pageSize,
      chunkSize: fanOut.chunkSize,
      pagesPerRun: fanOut.pagesPerRun,
      window,
      dispatchReleased: (channel, userIds) =>
        dispatchAndCount(
          dispatch[channel],
          progress,
          channel,
          { sendId, userIds, page: undefined },
          {
            ...attempts,
            quietHours: 'released',
          },
        ),
      continueAsNew: () => continueRun({ ...input, progress }),
    });
  }
  return finish(input, progress, snapshotFailure);
}

/** Totals the send (`finishSend`: its counts, or the ledger's) and marks it done, in its document and for the UI. */
async function finish(
  input: SendMessageInput,
  progress: SendProgress,
  snapshotFailure: string | undefined,
  cancelledBeforeSendAt?: boolean,
): Promise<SendSummary> {
  const { sendId, retryRound } = input;
  const summary = await finishSend({
    sendId,
    recordId: input.recordId,
    workflowId: workflowInfo().workflowId,
    recipientCount: progress.recipientsResolved,
    ...(retryRound !== undefined ? { retryRound } : {}),
    ...(progress.counts ? { counts: progress.counts, batchesToRead: progress.batchesToRead ?? [] } : {}),
    ...(progress.pagesToDrop ? { pagesWithUsers: progress.pagesToDrop } : {}),
    ...(snapshotFailure !== undefined ? { failedWith: snapshotFailure } : {}),
    ...(cancelledBeforeSendAt ? { cancelledBeforeSendAt } : {}),
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
  return runSend(await sendInputOf(input), (next) => continueAsNew<typeof sendMessage>(next));
}
