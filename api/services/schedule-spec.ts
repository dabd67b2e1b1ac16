import { DAYS_OF_WEEK, MONTHS, type CalendarSpec, type ScheduleSpec } from '@temporalio/client';
import { badRequest } from '../../common/domain/http-errors';
import { isoDurationMs } from '../../common/toolkit/iso-duration';
import { isKnownTimezone } from '../../common/toolkit/timezones';
import type { CalendarEntry, ScheduleTimes } from '../../common/store/send-schedules-repository';

export { isKnownTimezone };

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as readonly string[] },
  { name: 'hour', min: 0, max: 23, names: [] },
  { name: 'day of month', min: 1, max: 31, names: [] },
  { name: 'month', min: 1, max: 12, names: MONTHS.map((month) => month.slice(0, 3)) },
  { name: 'day of week', min: 0, max: 6, names: DAYS_OF_WEEK.map((day) => day.slice(0, 3)) },
];

/**
 * Why a cron expression is not one of five fields (minute, hour, day of month, month, day of week), each `*` or a list
 * of values and ranges with an optional `/step` (`0 9 * * MON-FRI`, `*\/15 8-18 * * *`); undefined when it is.
 */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5)
    return `needs five fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (const [index, field] of fields.entries()) {
    const { name, min, max, names } = CRON_FIELDS[index];
    const value = (text: string): number | undefined => {
      const byName = names.indexOf(text.toUpperCase());
      if (byName >= 0) return byName + min;
      return /^\d+$/.test(text) ? Number(text) : undefined;
    };
    for (const item of field.split(',')) {
      const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
      if (!match) return `${name}: "${item}" is not a value, a range or *`;
      const [, range, step] = match;
      if (step !== undefined && Number(step) < 1) return `${name}: step ${step} must be at least 1`;
      if (range === '*') continue;
      const [start, end = start] = range.split('-').map(value);
      if (start === undefined || end === undefined || start < min || end > max || start > end) {
        return `${name}: "${item}" is outside ${min}-${max}`;
      }
    }
  }
  return undefined;
}

const asList = (value: number | number[]): number[] => (Array.isArray(value) ? value : [value]);

function calendarSpec(entry: CalendarEntry): CalendarSpec {
  return {
    hour: asList(entry.hour),
    minute: asList(entry.minute),
    ...(entry.dayOfWeek !== undefined ? { dayOfWeek: asList(entry.dayOfWeek).map((day) => DAYS_OF_WEEK[day]) } : {}),
    ...(entry.dayOfMonth !== undefined ? { dayOfMonth: asList(entry.dayOfMonth) } : {}),
    ...(entry.month !== undefined ? { month: asList(entry.month).map((month) => MONTHS[month - 1]) } : {}),
  };
}

/**
 * The times of a recurring send as Temporal's schedule spec, checked: a bad cron, duration or time zone, or an `endAt`
 * before `startAt`, is an `HttpError` 400 naming the field (`spec.cron`, `timezone`). No jitter: a firing goes at its
 * time.
 */
export function temporalSpecOf(times: ScheduleTimes, timezone: string): ScheduleSpec {
  if (!isKnownTimezone(timezone)) throw badRequest(`timezone: ${timezone} is not an IANA time zone`);
  const startAt = times.startAt === undefined ? undefined : new Date(times.startAt);
  const endAt = times.endAt === undefined ? undefined : new Date(times.endAt);
  if (startAt && endAt && endAt <= startAt) throw badRequest('spec.endAt: must be after spec.startAt');
  const bounds = { ...(startAt ? { startAt } : {}), ...(endAt ? { endAt } : {}), timezone, jitter: 0 };
  if (times.cron !== undefined) {
    const problem = cronProblem(times.cron);
    if (problem) throw badRequest(`spec.cron: ${problem}`);
    return { cronExpressions: [times.cron.trim()], ...bounds };
  }
  if (times.every !== undefined) {
    // Years and months have no fixed length: a firing every month is a `calendar` or a `cron`.
    const every = isoDurationMs(times.every);
    if (every === null || every < 1000) {
      throw badRequest(`spec.every: ${times.every} is not an ISO 8601 duration of at least a second (PT2S, PT1H, P1D)`);
    }
    return { intervals: [{ every }], ...bounds };
  }
  if (times.calendar !== undefined) return { calendars: times.calendar.map(calendarSpec), ...bounds };
  throw badRequest('spec: exactly one of calendar, cron and every is needed');
}
