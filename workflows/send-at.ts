import { ApplicationFailure, condition, patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../common/temporal/search-attributes';
import { cancelSendSignal, NOT_SCHEDULED, rescheduleUpdate } from '../common/temporal/send-signals';
import { beginScheduledSend } from './send-activities';

/**
 * Patch: a send with a `sendAt` waits for it before anything else. Only sends that carry `sendAt` in their input take
 * this path, so no earlier history meets it; the marker says which workflow code a history's wait came from.
 */
export const SEND_AT = 'send-at';

/**
 * Whether this send (or `POST /messages` request) waits for a `sendAt`: a first run of a scheduled one; a retry or a
 * continued run never does.
 */
export function waitsForSendAt(sendAt: string | undefined, firstRun: boolean): sendAt is string {
  return sendAt !== undefined && firstRun && patched(SEND_AT);
}

/**
 * Waits for a scheduled send's `sendAt` on a durable timer (docs/operating-sends.md "Send later and cancel"): the timer
 * lives in Temporal, so a waiting send costs the worker nothing and survives its restarts. `rescheduleUpdate` moves
 * the time while it waits (refused once it has fired); `cancelSendSignal` ends the wait. At the time, `beginScheduledSend`
 * reads the cancel record, which a cancel writes before it signals. Resolves true when the send goes out, false when it
 * was cancelled.
 */
export async function waitForSendAt(sendId: string, sendAt: string, kind?: 'messages'): Promise<boolean> {
  let due = Date.parse(sendAt);
  // An object, since the handlers change it between the awaits.
  const send: { state: 'scheduled' | 'running' | 'cancelled' } = { state: 'scheduled' };
  let moved = false;
  const showDue = () =>
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.sendStatus, value: send.state },
      { key: SEARCH_ATTRIBUTES.scheduledFor, value: new Date(due) },
    ]);
  setHandler(
    rescheduleUpdate,
    (request) => {
      due = Date.parse(request.sendAt);
      moved = true;
      showDue();
      return { sendAt: new Date(due).toISOString() };
    },
    {
      validator: (request) => {
        if (send.state !== 'scheduled') {
          throw ApplicationFailure.nonRetryable(
            `send ${sendId} is ${send.state}: only a scheduled send moves`,
            NOT_SCHEDULED,
          );
        }
        if (Number.isNaN(Date.parse(request.sendAt))) throw new Error(`sendAt: ${request.sendAt} is not a date-time`);
      },
    },
  );
  setHandler(cancelSendSignal, () => {
    if (send.state === 'scheduled') send.state = 'cancelled';
  });
  showDue();
  for (;;) {
    const left = due - Date.now();
    if (send.state !== 'scheduled' || left <= 0) break;
    moved = false;
    await condition(() => moved || send.state !== 'scheduled', left);
  }
  if (send.state === 'cancelled') return false;
  send.state = 'running';
  const { cancelled } = await beginScheduledSend({
    sendId,
    sendAt: new Date(due).toISOString(),
    ...(kind ? { kind } : {}),
  });
  if (cancelled) send.state = 'cancelled';
  return !cancelled;
}
