/**
 * Wall clocks of IANA time zones: what the clocks of a zone show at an instant, and the instant at which they show a
 * given date and time, across daylight-saving changes. On `Intl` alone (no Node API).
 */

/** What the clocks of a time zone show: month 1 = January, hour 0–23. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const formats = new Map<string, Intl.DateTimeFormat>();

/** What the clocks of `timeZone` show at `instant`. */
export function wallClockOf(instant: Date | number, timeZone: string): WallClock {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timeZone, format);
  }
  const parts = Object.fromEntries(
    format.formatToParts(instant).map(({ type, value }) => [type, Number(value)] as const),
  ) as Record<string, number>;
  const { year, month, day, hour, minute, second } = parts;
  return { year, month, day, hour, minute, second };
}

/**
 * The wall clock of `instant` in `timeZone` as if it were UTC (milliseconds, those of `instant` kept): comparable with
 * `Date.UTC` of a wall time, and minus `instant` the zone's offset then.
 */
export function wallClockAsUtc(instant: number, timeZone: string): number {
  const { year, month, day, hour, minute, second } = wallClockOf(instant, timeZone);
  const milliseconds = ((instant % 1000) + 1000) % 1000;
  return Date.UTC(year, month - 1, day, hour, minute, second) + milliseconds;
}

/**
 * The first instant at which the clocks of `timeZone` show `wallClock` (a wall time as UTC milliseconds, `Date.UTC`
 * of its date and time) or later. A time that a fall-back repeats is its first occurrence; one that a spring-forward
 * skips is the moment the clocks jump past it (to the minute). Offsets change at most once around a given time, so the
 * candidates are the wall time read with the offset a day before and a day after; in a skipped hour neither matches,
 * and the jump is found by halving between them.
 */
export function instantOfWallClock(wallClock: number, timeZone: string): number {
  const offsetAt = (at: number) => wallClockAsUtc(at, timeZone) - at;
  const candidates = [...new Set([wallClock - offsetAt(wallClock - DAY_MS), wallClock - offsetAt(wallClock + DAY_MS)])];
  candidates.sort((a, b) => a - b);
  const exact = candidates.find((at) => wallClockAsUtc(at, timeZone) === wallClock);
  if (exact !== undefined) return exact;
  let [before, after] = [candidates[0], candidates[candidates.length - 1]];
  while (after - before > MINUTE_MS) {
    const middle = before + Math.floor((after - before) / 2 / MINUTE_MS) * MINUTE_MS;
    if (wallClockAsUtc(middle, timeZone) >= wallClock) after = middle;
    else before = middle;
  }
  return after;
}
