import { ApplicationFailure } from '@temporalio/activity';
import { FlowManagerNotConfiguredError, sendFlowManagerEvent } from '../common/http/flow-manager-client';
import type { ActivityDeps } from './activity-deps';
import { keepAlive } from './keep-alive';

export interface FlowManagerEventInput {
  sagaId: string;
  messageLabel: string;
  /** The saga's send, which records the labels delivered; absent for the fail event of a command that started none. */
  sendId?: string;
}

/**
 * `notifyFlowManager`: tells the Flow Manager how a saga went; retried by Temporal until it answers 2xx. Each label
 * goes to the Flow Manager once per saga: a replay (workflow reset) sends nothing again. The labels delivered are
 * recorded per saga in `saga_fail_events` (docs/operating-sends.md "Saga sends"), not in the send document: the
 * success event of `eventsWhen: "started"` is recorded while the send updates its own document, and FerretDB applies
 * an update as a read and a rewrite of the whole document, so one of two concurrent updates can be lost.
 */
export function createFlowManagerActivity(deps: ActivityDeps) {
  const failEvents = deps.sagaFailEvents;
  const delivered = async ({ sagaId, sendId }: FlowManagerEventInput): Promise<string[]> => [
    ...((await failEvents.get(sagaId))?.deliveredLabels ?? []),
    // Sends started before the labels moved kept them in their own document.
    ...((sendId ? (await deps.sends.get(sendId))?.flowManagerEvents : undefined) ?? []),
  ];
  return {
    notifyFlowManager: (input: FlowManagerEventInput): Promise<void> =>
      keepAlive(async () => {
        if ((await delivered(input)).includes(input.messageLabel)) return;
        try {
          await sendFlowManagerEvent(deps.config, input);
        } catch (error) {
          if (error instanceof FlowManagerNotConfiguredError)
            throw ApplicationFailure.nonRetryable(error.message, error.name);
          throw error;
        }
        await failEvents.recordDelivered(input.sagaId, input.messageLabel);
      }),
  };
}
