import { z } from 'zod';

/**
 * The settings every provider behind a public HTTP API (Twilio, Kaleyra, Infobip, FCM) starts from: `baseUrl`, the
 * root its API paths are joined to, the provider's own host in production and the simulator locally (README
 * "Configuration"). Each of their schemas extends it with the account's own fields.
 */
export const httpProviderSettingsSchema = z.strictObject({
  /** Root of the provider's API, e.g. `https://api.twilio.com`; a trailing slash is allowed (see `joinUrl`). */
  baseUrl: z.url(),
});
