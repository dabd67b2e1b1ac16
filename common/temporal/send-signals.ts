import { defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * The messages of the send workflows (`sendMessage`, `sagaSendMessage`) besides their `progress` query, the one place
 * they are defined: the workflow handles them and the API sends them through these definitions, never by name. The
 * names are on the wire and in recorded histories: they stay.
 */

/** What `rescheduleUpdate` moves a scheduled send to: an ISO 8601 instant. */
export interface RescheduleRequest {
  sendAt: string;
}

/** The `sendAt` the send now waits for, once the workflow has taken it. */
export interface Rescheduled {
  sendAt: string;
}

/** The failure type of a reschedule the workflow refuses: it no longer waits (it fires, or was cancelled). */
export const NOT_SCHEDULED = 'NotScheduled';

/** Moves a scheduled send's `sendAt`; refused (`NOT_SCHEDULED`, the message naming its status) once it has fired. */
export const rescheduleUpdate = defineUpdate<Rescheduled, [RescheduleRequest]>('reschedule');

/**
 * Wakes a scheduled send that was cancelled, which then ends without dispatching. The cancel itself is the record in
 * `send_cancellations`, which the send and its dispatches read: the signal only saves the wait.
 */
export const cancelSendSignal = defineSignal('cancelSend');
