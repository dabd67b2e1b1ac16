import {
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
} from '@temporalio/workflow';
import type { SendActivities } from '../activities';
import type { SagaFailEvent } from '../common/store/saga-fail-events-repository';
import type { SendSummary } from '../common/domain/send-types';
import type { SagaEventsWhen } from '../common/config/config';
import { STORE_RETRY } from './send-activities';
import { runSend, type SendMessageInput } from './send-message';

const { notifyFlowManager } = proxyActivities<SendActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: STORE_RETRY,
});

/**
 * Patch: a cancelled saga send tells the Flow Manager (its fail event, in a scope the cancellation does not reach)
 * before it ends as cancelled. What a workflow cannot say itself (terminated, timed out) the reconciliation sends
 * (api/services/send-reconciliation-service.ts).
 */
export const SAGA_CANCEL_FAIL_EVENT = 'saga-cancel-fail-event';

/**
 * Patch: a saga send started in `eventsWhen: "started"` mode sends its success event as it starts, alongside the
 * send, and no event when it ends. Sends started before the mode existed (no `eventsWhen` in their input) keep the
 * events at the end; so does a send begun by a worker that ignored the mode (its history has no marker).
 */
export const SAGA_EVENTS_ON_START = 'saga-events-on-start';

export interface SagaSendInput extends SendMessageInput {
  saga: {
    sagaId: string;
    successEventLabel?: string;
    failEventLabel?: string;
    /** `flowManagerConfiguration.eventsWhen` when the send started; absent (sends started before it existed): `finished`. */
    eventsWhen?: SagaEventsWhen;
  };
}

/**
 * `/saga/send` (docs/operating-sends.md "Saga sends"): the same send and its Flow Manager event. With `eventsWhen:
 * "started"` the success label goes as the send starts (the API's 200 promised it) and nothing more is sent, whatever
 * the deliveries do. With `finished`: the success label when the send ends, or the fail label when every dispatch
 * failed, the send itself failed or it was cancelled. The event activity retries until the Flow Manager answers 2xx;
 * without a label for the outcome no event is sent.
 */
export async function sagaSendMessage(input: SagaSendInput): Promise<SendSummary> {
  const { sagaId, successEventLabel, failEventLabel } = input.saga;
  const eventsOnStart = input.saga.eventsWhen === 'started' && patched(SAGA_EVENTS_ON_START);
  // Not awaited before the send: a Flow Manager that does not answer must not hold the deliveries back. Out of reach
  // of a cancellation, since the 200 promised it; awaited before the workflow closes or continues as new, which
  // would abandon it.
  const startEvent =
    eventsOnStart && successEventLabel && !input.progress
      ? CancellationScope.nonCancellable(() =>
          notifyFlowManager({ sagaId, messageLabel: successEventLabel, sendId: input.sendId }),
        )
      : Promise.resolve();
  // Handled here so that a failure waits for the await below instead of failing the workflow task as unhandled.
  startEvent.catch(() => undefined);
  if (eventsOnStart) {
    try {
      return await runSend(input, async (next) => {
        await startEvent;
        return continueAsNew<typeof sagaSendMessage>({ ...input, ...next });
      });
    } finally {
      await startEvent;
    }
  }
  let summary: SendSummary;
  try {
    summary = await runSend(input, (next) => continueAsNew<typeof sagaSendMessage>({ ...input, ...next }));
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    if (isCancellation(error)) {
      if (failEventLabel && patched(SAGA_CANCEL_FAIL_EVENT)) {
        await CancellationScope.nonCancellable(() =>
          notifyFlowManager({ sagaId, messageLabel: failEventLabel, sendId: input.sendId }),
        );
      }
      throw error;
    }
    if (failEventLabel) await notifyFlowManager({ sagaId, messageLabel: failEventLabel, sendId: input.sendId });
    throw error;
  }
  // A cancelled send (`DELETE /sends/:id`) did not do what the saga asked.
  const label = summary.status === 'failed' || summary.status === 'cancelled' ? failEventLabel : successEventLabel;
  if (label) await notifyFlowManager({ sagaId, messageLabel: label, sendId: input.sendId });
  return summary;
}

/**
 * The fail event of a saga command refused (4xx or 5xx) before any send started (docs/operating-sends.md "Saga sends").
 * The API starts it with the saga's own workflow id (`saga-<sagaId>`), so a redelivered command does not send it twice
 * and a saga whose send has started gets no fail event from here; `notifyFlowManager` retries until the Flow Manager
 * answers 2xx.
 */
export async function sagaFailEvent(event: SagaFailEvent): Promise<void> {
  await notifyFlowManager({ sagaId: event.sagaId, messageLabel: event.messageLabel });
}
