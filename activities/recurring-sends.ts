import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../common/temporal/failure-types';
import type { SendScheduleDocument } from '../common/store/send-schedules-repository';
import type { ActivityDeps } from './activity-deps';

export interface RecurringMessagesInput {
  scheduleId: string;
  /** The firing's workflow id, which is its request id: the schedule's id with the firing time appended by Temporal. */
  requestId: string;
}

export interface RecurringSendInput {
  scheduleId: string;
  /** The firing's workflow id, which is its send id: the schedule's id with the firing time appended by Temporal. */
  sendId: string;
}

/**
 * `recordRecurringSend`: a firing of a recurring send stores its own send document, as the API stores one before it
 * starts a send, with the schedule's request copied in; `GET /sends/:sendId` then answers for it like for any send.
 * `recordRecurringMessages`: a firing of a schedule of `/messages` requests stores its own request, as `POST /messages`
 * stores one, its message ids made of its request id; `GET /messages/:requestId` answers for it. Keyed inserts that keep
 * a document already there, so a retried activity writes nothing twice.
 */
export function createRecurringSendActivity(deps: ActivityDeps) {
  const scheduleOf = async (scheduleId: string): Promise<SendScheduleDocument> => {
    const schedule = await deps.sendSchedules.get(scheduleId);
    if (!schedule) {
      throw ApplicationFailure.nonRetryable(`schedule ${scheduleId} no longer exists`, FAILURE_TYPES.scheduleNotFound);
    }
    return schedule;
  };
  return {
    recordRecurringSend: async ({ scheduleId, sendId }: RecurringSendInput): Promise<void> => {
      const { request } = await scheduleOf(scheduleId);
      if (!request) {
        throw ApplicationFailure.nonRetryable(`schedule ${scheduleId} makes no send`, FAILURE_TYPES.scheduleNotFound);
      }
      const now = new Date();
      await deps.sends.create({
        _id: sendId,
        workflowId: sendId,
        kind: 'send',
        scheduleId,
        request,
        status: 'running',
        createdAt: now,
        updatedAt: now,
      });
    },

    recordRecurringMessages: async ({ scheduleId, requestId }: RecurringMessagesInput): Promise<void> => {
      const { messageRequest } = await scheduleOf(scheduleId);
      if (!messageRequest) {
        throw ApplicationFailure.nonRetryable(
          `schedule ${scheduleId} makes no /messages request`,
          FAILURE_TYPES.scheduleNotFound,
        );
      }
      const { messages, appId, apiKeyId, callback, cancellationKey } = messageRequest;
      const now = new Date();
      await deps.messageRequests.createOrGet({
        _id: requestId,
        ...(appId !== undefined ? { appId } : {}),
        apiKeyId,
        ...(callback ? { callback } : {}),
        ...(cancellationKey !== undefined ? { cancellationKey } : {}),
        scheduleId,
        messages: messages.map((message) => ({ ...message, messageId: `${requestId}-${message.n}` })),
        status: 'running',
        createdAt: now,
        updatedAt: now,
      });
    },
  };
}
