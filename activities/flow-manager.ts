import { ApplicationFailure } from '@temporalio/activity';
import { FlowManagerNotConfiguredError, sendFlowManagerEvent } from '../common/flow-manager';
import type { ActivityDeps } from './activity-deps';
import { keepAlive } from './keep-alive';

export interface FlowManagerEventInput {
  sagaId: string;
  messageLabel: string;
  sendId?: string;
}

/**
 * `notifyFlowManager`: tells the Flow Manager how a saga's send ended; retried by Temporal until it answers 2xx.
 * Each label goes to the Flow Manager once per send: a replay (workflow reset) that ends the same way sends
 * nothing again.
 */
export function createFlowManagerActivity(deps: ActivityDeps) {
  return {
    notifyFlowManager: (input: FlowManagerEventInput): Promise<void> =>
      keepAlive(async () => {
        const send = input.sendId ? await deps.sends.get(input.sendId) : null;
        if (send?.flowManagerEvents?.includes(input.messageLabel)) return;
        try {
          await sendFlowManagerEvent(deps.config, input);
        } catch (error) {
          if (error instanceof FlowManagerNotConfiguredError)
            throw ApplicationFailure.nonRetryable(error.message, error.name);
          throw error;
        }
        if (input.sendId) await deps.sends.recordFlowManagerEvent(input.sendId, input.messageLabel);
      }),
  };
}
