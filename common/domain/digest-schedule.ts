/**
 * The times of a digest (docs/digests.md): the next wall-clock time of a scheduled digest in its user's time zone
 * (its windows are ISO 8601 durations, read by common/toolkit/iso-duration.ts). Pure, so the API computes it and the
 * unit tier tests it.
 */

/** When a scheduled digest flushes: `hour:minute` each day, or each week on `dayOfWeek` (0 = Sunday … 6 = Saturday). */
export interface WallClockTime {
  hour: number;
  minute: number;
  dayOfWeek?: number;
}

const partsFormat = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date and time in `timeZone` at `instant`, as if it were UTC (milliseconds). */
function wallClockAsUtc(instant: number, timeZone: string): number {
  let format = partsFormat.get(timeZone);
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
    partsFormat.set(timeZone, format);
  }
  const part = Object.fromEntries(format.formatToParts(instant).map(({ type, value }) => [type, Number(value)]));
  return Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second);
}

/** The instant at which `timeZone`'s clocks show `wallClock` (a wall time given as UTC milliseconds). */
function instantOfWallClock(wallClock: number, timeZone: string): number {
  // The offset at the guess, then again at the result: right on both sides of a daylight-saving change; a wall time
  // that the change skips comes out an hour later.
  const firstGuess = wallClock - (wallClockAsUtc(wallClock, timeZone) - wallClock);
  return wallClock - (wallClockAsUtc(firstGuess, timeZone) - firstGuess);
}

/** The first instant after `after` at which the clocks of `timeZone` show `at` (on its day of the week, if given). */
export function nextWallClockTime(after: Date, at: WallClockTime, timeZone = 'UTC'): Date {
  const localNow = wallClockAsUtc(after.getTime(), timeZone);
  const today = new Date(localNow);
  for (let days = 0; days <= 8; days++) {
    const candidateDay = new Date(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + days, at.hour, at.minute),
    );
    if (at.dayOfWeek !== undefined && candidateDay.getUTCDay() !== at.dayOfWeek) continue;
    const instant = instantOfWallClock(candidateDay.getTime(), timeZone);
    if (instant > after.getTime()) return new Date(instant);
  }
  throw new Error(`no ${JSON.stringify(at)} within eight days of ${after.toISOString()} in ${timeZone}`);
}
