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
    return startsOn(today) && minute >= start && minute < end ? instantOfWallClock(today, end, timezone) : null;
  }
  if (minute >= start && startsOn(today)) return instantOfWallClock(today + DAY_MS, end, timezone);
  if (minute < end && startsOn(today - DAY_MS)) return instantOfWallClock(today, end, timezone);
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

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function wallClockOf(instant: Date | number, timezone: string): WallClock {
  let format = formats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formats.set(timezone, format);
  }
  const parts = Object.fromEntries(
    format.formatToParts(instant).map(({ type, value }) => [type, Number(value)] as const),
  ) as Record<string, number>;
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute };
}

/** The wall clock of `instant` in `timezone`, as if it were UTC: comparable with `Date.UTC` of a wall time. */
function wallClockAsUtc(instant: number, timezone: string): number {
  const { year, month, day, hour, minute } = wallClockOf(instant, timezone);
  return Date.UTC(year, month - 1, day, hour, minute);
}

/**
 * The first instant whose wall clock in `timezone` reads `minutes` past midnight of `localDay` or later. Offsets
 * change at most once around a given minute, so the candidates are the wall time read with the offset a day before
 * and a day after; in a skipped hour neither matches, and the clock's jump is found by halving between them.
 */
function instantOfWallClock(localDay: number, minutes: number, timezone: string): Date {
  const wall = localDay + minutes * MINUTE_MS;
  const offsetAt = (at: number) => wallClockAsUtc(at, timezone) - at;
  const candidates = [...new Set([wall - offsetAt(wall - DAY_MS), wall - offsetAt(wall + DAY_MS)])].sort(
    (a, b) => a - b,
  );
  const exact = candidates.find((at) => wallClockAsUtc(at, timezone) === wall);
  if (exact !== undefined) return new Date(exact);
  let [before, after] = [candidates[0], candidates[candidates.length - 1]];
  while (after - before > MINUTE_MS) {
    const middle = before + Math.floor((after - before) / 2 / MINUTE_MS) * MINUTE_MS;
    if (wallClockAsUtc(middle, timezone) >= wall) after = middle;
    else before = middle;
  }
  return new Date(after);
}
