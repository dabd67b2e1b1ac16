/**
 * ISO 8601 durations of fixed length (`PT30M`, `P1DT2H`, `P1W`, `PT2.5S`): weeks, days, hours, minutes and seconds
 * with up to three decimals. Years and months are refused: their length depends on the date they start from. Pure (no
 * Node API), so any tier, a workflow's included, may read one.
 */
const ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

const UNIT_MS = [7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000];

/** The milliseconds of an ISO 8601 duration of weeks, days, hours, minutes and seconds; null for anything else. */
export function isoDurationMs(text: string): number | null {
  const match = ISO_DURATION.exec(text);
  if (!match || text === 'P') return null;
  return Math.round(match.slice(1).reduce((total, part, unit) => total + Number(part ?? 0) * UNIT_MS[unit], 0));
}
