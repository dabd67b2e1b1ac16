/**
 * The profiles of `MESSAGING_PROFILE` (docs/configuration.md): what each fills in for the provider settings left
 * unset. The environment schema (config.ts) applies them; `npm run check-config` reports which setting came from one.
 */

/** `MESSAGING_PROFILE`: `development` points every provider setting left unset at the simulator. */
export const PROFILES = ['production', 'development'] as const;
export type Profile = (typeof PROFILES)[number];

/** The provider settings of the environment, each filled in by a profile or required. */
export type ProviderVariable =
  | 'SMTP_URL'
  | 'TWILIO_BASE_URL'
  | 'TWILIO_ACCOUNT_SID'
  | 'TWILIO_AUTH_TOKEN'
  | 'KALEYRA_BASE_URL'
  | 'KALEYRA_API_KEY'
  | 'KALEYRA_SID'
  | 'FCM_BASE_URL'
  | 'FCM_TOKEN_URL'
  | 'FCM_PROJECT_ID'
  | 'FCM_CREDENTIALS_PATH'
  | 'INFOBIP_BASE_URL'
  | 'INFOBIP_API_KEY';

const SIMULATOR_URL = 'http://127.0.0.1:4010';

/**
 * What each profile fills in for the provider settings left unset. `production` (the default) only the public
 * endpoints that are the same for every account; credentials, the SMTP server and Infobip's per-account host have
 * no default, so a forgotten one stops the worker instead of sending somewhere else. `development` (set by
 * `npm run dev`, the tests and the bench) the provider simulator at its default ports with the credentials it
 * accepts: the only place the simulator is a default.
 */
type ProfileValues = Partial<
  Record<
    ProviderVariable | 'TEMPORAL_CODEC_KEYS' | 'PROVIDER_CREDENTIALS_KEYS' | 'WEBHOOK_SECRET' | 'CUSTOMER_HASH_SECRET',
    string
  > & {
    ALLOW_PRIVATE_NETWORK_URLS: 'true' | 'false';
  }
>;

export const PROFILE_DEFAULTS: Record<Profile, ProfileValues> = {
  production: {
    TWILIO_BASE_URL: 'https://api.twilio.com',
    KALEYRA_BASE_URL: 'https://api.kaleyra.io',
    FCM_BASE_URL: 'https://fcm.googleapis.com',
    FCM_TOKEN_URL: 'https://oauth2.googleapis.com/token',
  },
  development: {
    SMTP_URL: 'smtp://127.0.0.1:2525',
    TWILIO_BASE_URL: SIMULATOR_URL,
    TWILIO_ACCOUNT_SID: 'ACsimulator',
    TWILIO_AUTH_TOKEN: 'simulator-token',
    KALEYRA_BASE_URL: SIMULATOR_URL,
    KALEYRA_API_KEY: 'simulator-key',
    KALEYRA_SID: 'HXsimulator',
    FCM_BASE_URL: SIMULATOR_URL,
    FCM_TOKEN_URL: `${SIMULATOR_URL}/token`,
    FCM_PROJECT_ID: 'simulator-project',
    // Where `npm run dev` writes the simulator's throwaway key (`ensureFcmServiceAccount`) with DEV_DATA_DIR unset.
    FCM_CREDENTIALS_PATH: '.data/fcm-service-account.json',
    INFOBIP_BASE_URL: SIMULATOR_URL,
    INFOBIP_API_KEY: 'simulator-key',
    // A fixed key, public like the rest of this profile: histories kept in .data/temporal.db stay readable.
    TEMPORAL_CODEC_KEYS: 'dev:T3NKMdyGTggBUv8ptY1HVf3N1dQT4iT9Wzx+JbYsD7g=',
    // Public too: credentials registered on `npm run dev` are the simulator's, and .data/ keeps them across restarts.
    PROVIDER_CREDENTIALS_KEYS: 'dev:0AlB09G2rzjOiIIw51kD+rDJVqSVlXz/1Cw3uivNObE=',
    WEBHOOK_SECRET: 'development-webhook-secret',
    CUSTOMER_HASH_SECRET: 'development-customer-hash-secret',
    // Callbacks to a receiver on this machine (a test's, `npm run dev`'s).
    ALLOW_PRIVATE_NETWORK_URLS: 'true',
  },
};
