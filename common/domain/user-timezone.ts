import { isKnownTimezone } from '../toolkit/timezones';

/**
 * A user's time zone, the one rule of quiet hours and scheduled digests: the IANA name in its `timezoneField`, else
 * (absent, not a string, unknown) the configuration's `defaultTimezone`.
 */
export function timezoneOfUser(
  user: Record<string, unknown> | undefined,
  timezoneField: string,
  defaultTimezone: string,
): string {
  const value = user?.[timezoneField];
  return typeof value === 'string' && value.length > 0 && isKnownTimezone(value) ? value : defaultTimezone;
}
