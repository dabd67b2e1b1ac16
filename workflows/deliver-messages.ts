import { ActivityFailure, log, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SendActivities } from '../activities';
import { NON_RETRYABLE_DISPATCH_FAILURES } from '../common/temporal/failure-types';
import type { MessageChannel } from '../common/store/messaging/message-requests-repository';
import { SEARCH_ATTRIBUTES } from '../common/temporal/search-attributes';
import type { MessagesSummary } from '../common/domain/send-types';
import { dispatchUntilNotHandedBack } from './handed-back';
import { messagesInputOf } from './recurring-send';
import { waitForSendAt, waitsForSendAt } from './send-at';
import type { DispatchRetryOptions } from './send-message';

/** Consecutive message objects of one channel, `first` to `last` (their numbers `n`), dispatched by one activity. */
export interface MessageBatch {
  channel: MessageChannel;
  first: number;
  last: number;
}

export interface DeliverMessagesInput {
  requestId: string;
  /** Planned by the API from the accepted request (`planMessageBatches`): a bounded list, 1,000 at the most. */
  batches: MessageBatch[];
  retry: DispatchRetryOptions;
  /** Absent when the request has no callback. */
  callbacks?: { retryWindowMs: number };
  /** Dispatch activities in flight at once. */
  dispatchWindow: number;
  /** A scheduled request: the instant (ISO 8601) it waits for before anything else (`workflows/send-at.ts`). */
  sendAt?: string;
  /** Set by a schedule of `/messages` requests (its id): the firing records its own request (recurring-send.ts). */
  firingOf?: string;
}

// Unlimited attempts: they only read and write our own stores, and must outlast an outage.
const { finishMessages } = proxyActivities<SendActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * Callbacks are retried until the receiver answers 2xx or the window (docs/os1-messaging.md) runs out; the
 * activity gives up each event whose window has passed, so its last attempt, after the window, succeeds.
 */
function callbackPoster(retryWindowMs: number) {
  return proxyActivities<SendActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '30 seconds',
    scheduleToCloseTimeout: retryWindowMs + 30 * 60_000,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  }).postCallbacks;
}

/**
 * One `POST /messages` request (docs/os1-messaging.md): its message objects are dispatched in batches (each
 * address a ledger entry, so retries and replays send nothing twice), each batch's status changes are posted to the
 * callback as the batch ends, and the request's totals are written at the end. Deterministic: no I/O, no clocks.
 * History stays bounded: one activity per batch of at most `MESSAGE_BATCH_ADDRESSES` addresses, plus one callback
 * round per batch at most.
 */
export async function deliverMessages(given: DeliverMessagesInput): Promise<MessagesSummary> {
  const input = await messagesInputOf(given);
  const { requestId, batches, retry } = input;
  if (waitsForSendAt(input.sendAt, true) && !(await waitForSendAt(requestId, input.sendAt, 'messages'))) {
    log.info('scheduled request cancelled', { requestId });
    const cancelled = await finishMessages({
      requestId,
      workflowId: workflowInfo().workflowId,
      cancelledBeforeSendAt: true,
    });
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.sendStatus, value: cancelled.status }]);
    return cancelled;
  }
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.sendStatus, value: 'running' }]);
  const { dispatchMessages } = proxyActivities<SendActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      nonRetryableErrorTypes: NON_RETRYABLE_DISPATCH_FAILURES,
    },
  });

  // At most one callback round runs at a time; a batch that ends meanwhile asks for one more.
  const postCallbacks = input.callbacks ? callbackPoster(input.callbacks.retryWindowMs) : undefined;
  let callbacksOwed = false;
  let callbackRound: Promise<void> | undefined;
  const requestCallbacks = () => {
    if (!postCallbacks) return;
    callbacksOwed = true;
    callbackRound ??= (async () => {
      while (callbacksOwed) {
        callbacksOwed = false;
        await postCallbacks({ requestId }).catch((error: unknown) => {
          // Given up after the window: the events say `expired`, and the request itself is not failed for it.
          if (!(error instanceof ActivityFailure)) throw error;
          log.warn('callbacks given up', { requestId });
        });
      }
      callbackRound = undefined;
    })();
  };

  const inFlight = new Set<Promise<void>>();
  for (const batch of batches) {
    while (inFlight.size >= input.dispatchWindow) await Promise.race(inFlight);
    const running: Promise<void> = dispatchUntilNotHandedBack(() =>
      dispatchMessages({ requestId, ...batch, maxAttempts: retry.maximumAttempts }),
    )
      .then(
        () => undefined,
        (error: unknown) => {
          // The ledger holds the failure with its code; anything else is a bug worth failing on.
          if (!(error instanceof ActivityFailure)) throw error;
        },
      )
      .finally(() => {
        inFlight.delete(running);
        requestCallbacks();
      });
    inFlight.add(running);
  }
  await Promise.all(inFlight);
  while (callbackRound) await callbackRound;

  const summary = await finishMessages({ requestId, workflowId: workflowInfo().workflowId });
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.sendStatus, value: summary.status }]);
  return summary;
}

/**
 * The callbacks of status changes that come after the request's workflow, from the providers' delivery reports. The
 * API starts one per reported change (its id names the change, so a repeated report starts nothing); it posts
 * every pending event of the request, the new one included.
 */
export async function postMessageCallbacks(input: { requestId: string; retryWindowMs: number }): Promise<void> {
  await callbackPoster(input.retryWindowMs)({ requestId: input.requestId }).catch((error: unknown) => {
    if (!(error instanceof ActivityFailure)) throw error;
    log.warn('callbacks given up', { requestId: input.requestId });
  });
}
