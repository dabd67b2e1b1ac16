import { instantOfWallClock, wallClockOf } from '../toolkit/wall-clock';
import { WEEKDAYS, type Preferences, type Weekday } from './preferences';

export { timezoneOfUser } from './user-timezone';

export type QuietHours = NonNullable<Preferences['quietHours']>;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * When the quiet hours that hold `instant` end, or `null` when `instant` is outside them. The window is read on the
 * wall clock of `timezone`: from `start` (included) to `end` (excluded), through midnight when `end` is not after
 * `start` (`22:00`–`07:00`); `days` are the days a window starts on, so with `["fri"]` Saturday 03:00 is still inside
 * Friday's window. `start` equal to `end` is no window. An `end` that a daylight-saving jump skips ends the window when
 * the clock jumps past it; one that a fall-back repeats ends it at its first occurrence.
 */
export function quietHoursEndAt(instant: Date, quietHours: QuietHours, timezone: string): Date | null {
  const start = minutesOf(quietHours.start);
  const end = minutesOf(quietHours.end);
  if (start === end) return null;
  const days = new Set<Weekday>(quietHours.days ?? WEEKDAYS);
  const local = wallClockOf(instant, timezone);
  const minute = local.hour * 60 + local.minute;
  const today = Date.UTC(local.year, local.month - 1, local.day);
  const startsOn = (localDay: number) => days.has(weekdayOf(localDay));
  if (start < end) {
    return startsOn(today) && minute >= start && minute < end ? instantAt(today, end, timezone) : null;
  }
  if (minute >= start && startsOn(today)) return instantAt(today + DAY_MS, end, timezone);
  if (minute < end && startsOn(today - DAY_MS)) return instantAt(today, end, timezone);
  return null;
}

function minutesOf(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return hours * 60 + minutes;
}

/** The weekday of a local day given as the UTC midnight of the same calendar date. */
function weekdayOf(localDay: number): Weekday {
  return WEEKDAYS[(new Date(localDay).getUTCDay() + 6) % 7];
}

/** The first instant whose wall clock in `timezone` reads `minutes` past midnight of `localDay` or later. */
function instantAt(localDay: number, minutes: number, timezone: string): Date {
  return new Date(instantOfWallClock(localDay + minutes * MINUTE_MS, timezone));
}
