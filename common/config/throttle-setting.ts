import { z } from 'zod';

const ISO_DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** An ISO 8601 duration of days, hours, minutes and seconds (`P1D`, `PT1H30M`) in milliseconds; null when it is none. */
export function durationMs(text: string): number | null {
  const match = ISO_DURATION.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return null;
  const part = (index: number) => Number(match[index] ?? 0);
  return (((part(1) * 24 + part(2)) * 60 + part(3)) * 60 + part(4)) * 1000;
}

/**
 * A throttle as a template or the configuration's `categoryThrottles` write it (docs/preferences.md): at most `limit`
 * deliveries per user, channel and `key` in any `window`, an ISO 8601 duration of at least a minute. Stored as written.
 */
export const throttleSettingSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000),
  window: z
    .string()
    .refine((text) => durationMs(text) !== null, 'must be an ISO 8601 duration such as PT1H or P1D')
    .refine((text) => (durationMs(text) ?? 0) >= 60_000, 'must be at least a minute (PT1M)'),
  key: z.string().min(1).max(200).optional(),
});
export type ThrottleSetting = z.infer<typeof throttleSettingSchema>;

/** A written throttle as a send carries it. */
export const throttleOfSetting = ({ limit, window, key }: ThrottleSetting) => ({
  limit,
  windowMs: durationMs(window)!,
  ...(key !== undefined ? { key } : {}),
});
