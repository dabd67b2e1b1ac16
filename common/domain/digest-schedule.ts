import { instantOfWallClock, wallClockAsUtc } from '../toolkit/wall-clock';

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

/** The first instant after `after` at which the clocks of `timeZone` show `at` (on its day of the week, if given). */
export function nextWallClockTime(after: Date, at: WallClockTime, timeZone = 'UTC'): Date {
  const localNow = wallClockAsUtc(after.getTime(), timeZone);
  const today = new Date(localNow);
  for (let days = 0; days <= 8; days++) {
    const candidateDay = new Date(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + days, at.hour, at.minute),
    );
    if (at.dayOfWeek !== undefined && candidateDay.getUTCDay() !== at.dayOfWeek) continue;
    // A time that a spring-forward skips comes when the clocks jump past it.
    const instant = instantOfWallClock(candidateDay.getTime(), timeZone);
    if (instant > after.getTime()) return new Date(instant);
  }
  throw new Error(`no ${JSON.stringify(at)} within eight days of ${after.toISOString()} in ${timeZone}`);
}
