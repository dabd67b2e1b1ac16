/**
 * How deliveries held by quiet hours are grouped for their release (docs/preferences.md "Quiet hours"): by the minute
 * their window ends, rounded up, so that every delivery released in the same minute shares one durable timer of the
 * send's workflow. Pure: the workflow merges these groups into its progress, and its history stays bounded by the
 * number of distinct minutes (a send over 24 time zones waits a few dozen timers, whatever its audience).
 */

const MINUTE_MS = 60_000;

/** Deliveries deferred by a dispatch, per release minute: the minute's ISO 8601 instant → how many. */
export type DeferredByMinute = Record<string, number>;

/** The minute a delivery whose quiet hours end at `releaseAt` is released: `releaseAt` rounded up to a whole minute. */
export function releaseMinuteOf(releaseAt: Date): Date {
  return new Date(Math.ceil(releaseAt.getTime() / MINUTE_MS) * MINUTE_MS);
}

/** Adds one deferred delivery, released at `releaseAt`, to its minute's count in `into`. */
export function countDeferred(into: DeferredByMinute, releaseAt: Date): void {
  const minute = releaseMinuteOf(releaseAt).toISOString();
  into[minute] = (into[minute] ?? 0) + 1;
}

/** All deferred deliveries of `deferred`, whatever their minute. */
export function totalDeferred(deferred: DeferredByMinute | undefined): number {
  return Object.values(deferred ?? {}).reduce((sum, count) => sum + count, 0);
}

/**
 * Merges the minutes of `deferred` into `minutes` (epoch milliseconds, ascending, each once), in place: the timers a
 * send still has to wait for.
 */
export function addReleaseMinutes(minutes: number[], deferred: DeferredByMinute | undefined): void {
  for (const iso of Object.keys(deferred ?? {})) {
    const minute = Date.parse(iso);
    if (Number.isNaN(minute) || minutes.includes(minute)) continue;
    const at = minutes.findIndex((other) => other > minute);
    minutes.splice(at === -1 ? minutes.length : at, 0, minute);
  }
}
