import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../common/temporal/failure-types';
import type { ActivityDeps } from './activity-deps';

export interface RecurringSendInput {
  scheduleId: string;
  /** The firing's workflow id, which is its send id: the schedule's id with the firing time appended by Temporal. */
  sendId: string;
}

/**
 * `recordRecurringSend`: a firing of a recurring send stores its own send document, as the API stores one before it
 * starts a send, with the schedule's request copied in; `GET /sends/:sendId` then answers for it like for any send. A
 * keyed insert that keeps a document already there, so a retried activity writes nothing twice.
 */
export function createRecurringSendActivity(deps: ActivityDeps) {
  return {
    recordRecurringSend: async ({ scheduleId, sendId }: RecurringSendInput): Promise<void> => {
      const schedule = await deps.sendSchedules.get(scheduleId);
      if (!schedule) {
        throw ApplicationFailure.nonRetryable(
          `schedule ${scheduleId} no longer exists`,
          FAILURE_TYPES.scheduleNotFound,
        );
      }
      const now = new Date();
      await deps.sends.create({
        _id: sendId,
        workflowId: sendId,
        kind: 'send',
        scheduleId,
        request: schedule.request,
        status: 'running',
        createdAt: now,
        updatedAt: now,
      });
    },
  };
}
