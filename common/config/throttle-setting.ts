import { z } from 'zod';
import { isoDurationMs } from '../toolkit/iso-duration';

/**
 * A throttle as a template or the configuration's `categoryThrottles` write it (docs/preferences.md): at most `limit`
 * deliveries per user, channel and `key` in any `window`, an ISO 8601 duration of at least a minute. Stored as written.
 */
export const throttleSettingSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000),
  window: z
    .string()
    .refine((text) => isoDurationMs(text) !== null, 'must be an ISO 8601 duration such as PT1H or P1D')
    .refine((text) => (isoDurationMs(text) ?? 0) >= 60_000, 'must be at least a minute (PT1M)'),
  key: z.string().min(1).max(200).optional(),
});
export type ThrottleSetting = z.infer<typeof throttleSettingSchema>;

/** A written throttle as a send carries it. */
export const throttleOfSetting = ({ limit, window, key }: ThrottleSetting) => ({
  limit,
  windowMs: isoDurationMs(window)!,
  ...(key !== undefined ? { key } : {}),
});
