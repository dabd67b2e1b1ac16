import { badRequest } from '../../common/domain/http-errors';
import { isoDurationMs } from '../../common/toolkit/iso-duration';

/** How far ahead a send may be scheduled, by `sendAt` or `delay`. */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 60 * 60 * 1000;

/** The scheduling fields of a `/send` body (or of `PATCH /sends/:id`). */
export interface ScheduleFields {
  /** RFC 3339 with an offset (`Z` or `+01:00`), already checked for form by the body's schema. */
  sendAt?: string;
  /** ISO 8601 duration from now. */
  delay?: string;
}

/**
 * When a send goes out: `sendAt`, or `now` + `delay`; undefined for neither (at once). In the future and at most 366
 * days ahead; a 400 naming the field otherwise, and for both at once.
 */
export function resolveSendAt(fields: ScheduleFields, now: Date): Date | undefined {
  const { sendAt, delay } = fields;
  if (sendAt !== undefined && delay !== undefined) throw badRequest('sendAt: give sendAt or delay, not both');
  if (delay !== undefined) {
    const ms = isoDurationMs(delay);
    if (ms === null) throw badRequest(`delay: ${delay} is not an ISO 8601 duration such as PT30M or P1DT2H`);
    if (ms <= 0) throw badRequest(`delay: ${delay} is not a positive duration`);
    if (ms > MAX_SCHEDULE_AHEAD_MS) throw badRequest(`delay: ${delay} is more than 366 days`);
    return new Date(now.getTime() + ms);
  }
  if (sendAt === undefined) return undefined;
  const at = Date.parse(sendAt);
  if (Number.isNaN(at)) throw badRequest(`sendAt: ${sendAt} is not an RFC 3339 date-time with an offset`);
  if (at <= now.getTime()) throw badRequest(`sendAt: ${sendAt} is in the past`);
  if (at - now.getTime() > MAX_SCHEDULE_AHEAD_MS) throw badRequest(`sendAt: ${sendAt} is more than 366 days ahead`);
  return new Date(at);
}
