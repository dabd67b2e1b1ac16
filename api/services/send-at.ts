import { badRequest } from '../../common/domain/http-errors';

/** How far ahead a send may be scheduled, by `sendAt` or `delay`. */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 60 * 60 * 1000;

const DURATION_UNITS_MS = { W: 7 * 86_400_000, D: 86_400_000, H: 3_600_000, M: 60_000, S: 1000 } as const;

/**
 * An ISO 8601 duration (`PT30M`, `P1DT2H`, `P2W`, `PT1.5S`) in milliseconds, or undefined when it is not one. Years
 * and months are refused: their length depends on the date they start from (say `P30D`).
 */
export function isoDurationMs(text: string): number | undefined {
  const match = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match;
  const parts: [string | undefined, number][] = [
    [weeks, DURATION_UNITS_MS.W],
    [days, DURATION_UNITS_MS.D],
    [hours, DURATION_UNITS_MS.H],
    [minutes, DURATION_UNITS_MS.M],
    [seconds, DURATION_UNITS_MS.S],
  ];
  return Math.round(
    parts.reduce((total, [value, unit]) => total + (value === undefined ? 0 : Number(value) * unit), 0),
  );
}

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
    if (ms === undefined) throw badRequest(`delay: ${delay} is not an ISO 8601 duration such as PT30M or P1DT2H`);
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
