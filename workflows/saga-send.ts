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

export interface SagaSendInput extends SendMessageInput {
  saga: { sagaId: string; successEventLabel?: string; failEventLabel?: string };
}

/**
 * `/saga/send` (docs/operating-sends.md "Saga sends"): the same send, then the Flow Manager event — the success label, or the fail label
 * when every dispatch failed, the send itself failed or it was cancelled. The event activity retries until the Flow Manager
 * answers 2xx; without a label for the outcome no event is sent.
 */
export async function sagaSendMessage(input: SagaSendInput): Promise<SendSummary> {
  const { sagaId, successEventLabel, failEventLabel } = input.saga;
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
  const label = summary.status === 'failed' ? failEventLabel : successEventLabel;
  if (label) await notifyFlowManager({ sagaId, messageLabel: label, sendId: input.sendId });
  return summary;
}

/**
 * The fail event of a saga command refused (4xx or 5xx) before any send started (docs/operating-sends.md "Saga sends"). The API starts
 * it with the saga's own workflow id (`saga-<sagaId>`), so a redelivered command does not send it twice and a saga
 * whose send has started gets no fail event from here; `notifyFlowManager` retries until the Flow Manager answers 2xx.
 */
export async function sagaFailEvent(event: SagaFailEvent): Promise<void> {
  await notifyFlowManager({ sagaId: event.sagaId, messageLabel: event.messageLabel });
}
