import type { ActivityDeps } from './activity-deps';

export interface BeginScheduledSendInput {
  sendId: string;
  /** The `sendAt` the send waited for (ISO 8601), kept in its document. */
  sendAt: string;
  /** `messages` for a `POST /messages` request (its document is in `message_requests`); absent: a send. */
  kind?: 'messages';
}

/**
 * `beginScheduledSend`: the moment a scheduled send fires. The cancel record (`send_cancellations`) is read here, where
 * it is consistent, so a send cancelled however recently (even before its workflow could be told, or by a
 * cancellation key the Temporal visibility does not show yet) does not go out; otherwise its document turns `running`.
 */
export function createSendScheduleActivities(deps: ActivityDeps) {
  return {
    beginScheduledSend: async (input: BeginScheduledSendInput): Promise<{ cancelled: boolean }> => {
      if (await deps.sendCancellations.isCancelled(input.sendId)) return { cancelled: true };
      if (input.kind === 'messages') await deps.messageRequests.fired(input.sendId, new Date(input.sendAt));
      else await deps.sends.fired(input.sendId, new Date(input.sendAt));
      return { cancelled: false };
    },
  };
}
