import {
  ActivityFailure,
  continueAsNew,
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
}

export interface SendProgress {
  after: AudienceCursor | null;
  recipientsResolved: number;
  pagesDone: number;
  dispatchesDone: number;
  missingRecipients: number;
  done: boolean;
}

export const progressQuery = defineQuery<SendProgress>('progress');

const { recordMissingRecipients, resolveAudiencePage, finishSend } = proxyActivities<SendActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

function dispatchers(retry: DispatchRetryOptions): Record<Channel, (input: DispatchInput) => Promise<unknown>> {
  // Attempts are unlimited here on purpose: per-delivery attempts are counted in the ledger (maxAttempts),
  // so a database or worker outage delays deliveries but never drops them.
  const activities = proxyActivities<SendActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '1 minute',
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

/**
 * The whole send (spec §6): records unknown recipients, pages through the audience (ids only), dispatches
 * each page in batches per channel, and totals the ledger. Failed dispatches are already in the ledger, so a
 * failed activity does not fail the send. Deterministic: no I/O, no clocks, activities imported as types.
 */
export async function sendMessage(input: SendMessageInput): Promise<SendSummary> {
  const { sendId, channels, fanOut, retry } = input;
  const progress: SendProgress = input.progress ?? {
    after: null,
    recipientsResolved: 0,
    pagesDone: 0,
    dispatchesDone: 0,
    missingRecipients: 0,
    done: false,
  };
  setHandler(progressQuery, () => progress);
  const dispatch = dispatchers(retry);

  if (!input.progress) {
    upsertSearchAttributes({ sendStatus: ['running'] });
    progress.missingRecipients = await recordMissingRecipients({ sendId });
  }

  for (let pagesThisRun = 0; ; pagesThisRun++) {
    if (pagesThisRun >= fanOut.pagesPerRun) {
      await continueAsNew<typeof sendMessage>({ ...input, progress });
    }
    const page = await resolveAudiencePage({ sendId, after: progress.after, limit: fanOut.pageSize });
    const firstAndOnlyPage = progress.pagesDone === 0 && page.next === null;
    const batchSize = firstAndOnlyPage && page.userIds.length <= fanOut.perDeliveryLimit ? 1 : fanOut.chunkSize;
    await Promise.all(
      chunk(page.userIds, batchSize).flatMap((userIds) =>
        channels.map((channel) =>
          dispatch[channel]({ sendId, userIds, maxAttempts: retry.maximumAttempts })
            .catch((error: unknown) => {
              // The ledger holds the failure (with its code); anything else is a bug worth failing on.
              if (!(error instanceof ActivityFailure)) throw error;
            })
            .finally(() => progress.dispatchesDone++),
        ),
      ),
    );
    progress.recipientsResolved += page.userIds.length;
    progress.pagesDone++;
    progress.after = page.next;
    if (page.next === null) break;
  }

  const summary = await finishSend({
    sendId,
    workflowId: workflowInfo().workflowId,
    recipientCount: progress.recipientsResolved,
  });
  progress.done = true;
  upsertSearchAttributes({ sendStatus: [summary.status], recipientCount: [summary.recipients] });
  return summary;
}
