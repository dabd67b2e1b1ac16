import {
  ActivityFailure,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SendActivities, DispatchInput } from '../activities';
import type { Channel } from '../common/config';
import type { SendSummary } from '../common/types';
import type { AudienceCursor } from '../common/users-repository';

/** How a send pages and batches its audience; the API fills it from the configuration. */
export interface FanOutOptions {
  /** Users resolved per audience page (one activity). */
  pageSize: number;
  /** Users per dispatch activity in large sends. */
  chunkSize: number;
  /** Sends of at most this many users get one activity per (user, channel), visible one by one in the UI. */
  perDeliveryLimit: number;
  /** Pages per workflow run before `continueAsNew`, which bounds every history whatever the audience. */
  pagesPerRun: number;
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
  /** Where paging stopped: an audience cursor, or a ledger key for a retry. */
  after: AudienceCursor | string | null;
  recipientsResolved: number;
  pagesDone: number;
  dispatchesDone: number;
  missingRecipients: number;
  done: boolean;
}

export const progressQuery = defineQuery<SendProgress>('progress');

const { recordMissingRecipients, resolveAudiencePage, claimFailedDeliveries, finishSend, notifyFlowManager } =
  proxyActivities<SendActivities>({
    startToCloseTimeout: '2 minutes',
    // Unlimited attempts: these only read and write our own stores or tell the Flow Manager, and must not be
    // lost to an outage. The Flow Manager event in particular is retried until it answers 2xx (spec §4).
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  });

function dispatchers(
  retry: DispatchRetryOptions,
  heartbeatTimeoutMs: number,
): Record<Channel, (input: DispatchInput) => Promise<unknown>> {
  // Attempts are unlimited here on purpose: per-delivery attempts are counted in the ledger (maxAttempts),
  // so a database or worker outage delays deliveries but never drops them.
  const activities = proxyActivities<SendActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      nonRetryableErrorTypes: ['PermanentProviderError', 'RetriesExhausted'],
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

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

type Page =
  | { userIds: string[]; next: AudienceCursor | null }
  | { byChannel: Partial<Record<Channel, string[]>>; next: string | null };

/**
 * The whole send (spec §6): records unknown recipients, pages through the audience (ids only), dispatches
 * each page in batches per channel, and totals the ledger. Failed dispatches are already in the ledger, so a
 * failed activity does not fail the send. A retry (`retryRound`) pages through the send's failed deliveries
 * instead of its audience. Deterministic: no I/O, no clocks, activities imported as types.
 */
async function runSend(
  input: SendMessageInput,
  continueRun: (next: SendMessageInput) => Promise<never>,
): Promise<SendSummary> {
  const { sendId, channels, fanOut, retry, retryRound } = input;
  const progress: SendProgress = input.progress ?? {
    after: null,
    recipientsResolved: 0,
    pagesDone: 0,
    dispatchesDone: 0,
    missingRecipients: 0,
    done: false,
  };
  setHandler(progressQuery, () => progress);
  const dispatch = dispatchers(retry, fanOut.heartbeatTimeoutMs);

  if (!input.progress) {
    upsertSearchAttributes({ sendStatus: ['running'] });
    if (retryRound === undefined) progress.missingRecipients = await recordMissingRecipients({ sendId });
  }

  for (let pagesThisRun = 0; ; pagesThisRun++) {
    if (pagesThisRun >= fanOut.pagesPerRun) await continueRun({ ...input, progress });
    const page: Page =
      retryRound === undefined
        ? await resolveAudiencePage({ sendId, after: progress.after as AudienceCursor | null, limit: fanOut.pageSize })
        : await claimFailedDeliveries({
            sendId,
            round: retryRound,
            after: progress.after as string | null,
            limit: fanOut.pageSize,
          });
    const byChannel =
      'byChannel' in page ? page.byChannel : Object.fromEntries(channels.map((channel) => [channel, page.userIds]));
    const pageSize = 'byChannel' in page ? new Set(Object.values(byChannel).flat()).size : page.userIds.length;
    const firstAndOnlyPage = progress.pagesDone === 0 && page.next === null;
    const batchSize = firstAndOnlyPage && pageSize <= fanOut.perDeliveryLimit ? 1 : fanOut.chunkSize;
    await Promise.all(
      (Object.entries(byChannel) as [Channel, string[]][]).flatMap(([channel, userIds]) =>
        chunk(userIds, batchSize).map((batch) =>
          dispatch[channel]({ sendId, userIds: batch, maxAttempts: retry.maximumAttempts })
            .catch((error: unknown) => {
              // The ledger holds the failure (with its code); anything else is a bug worth failing on.
              if (!(error instanceof ActivityFailure)) throw error;
            })
            .finally(() => progress.dispatchesDone++),
        ),
      ),
    );
    progress.recipientsResolved += pageSize;
    progress.pagesDone++;
    progress.after = page.next;
    if (page.next === null) break;
  }

  const summary = await finishSend({
    sendId,
    recordId: input.recordId,
    workflowId: workflowInfo().workflowId,
    recipientCount: progress.recipientsResolved,
  });
  progress.done = true;
  upsertSearchAttributes({ sendStatus: [summary.status], recipientCount: [summary.recipients] });
  return summary;
}

export async function sendMessage(input: SendMessageInput): Promise<SendSummary> {
  return runSend(input, (next) => continueAsNew<typeof sendMessage>(next));
}

export interface SagaSendInput extends SendMessageInput {
  saga: { sagaId: string; successEventLabel?: string; failEventLabel?: string };
}

/**
 * `/saga/send` (spec §4): the same send, then the Flow Manager event — the success label, or the fail label
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
    if (failEventLabel) await notifyFlowManager({ sagaId, messageLabel: failEventLabel });
    throw error;
  }
  const label = summary.status === 'failed' ? failEventLabel : successEventLabel;
  if (label) await notifyFlowManager({ sagaId, messageLabel: label });
  return summary;
}
