/**
 * The profiles of `MESSAGING_PROFILE` (docs/configuration.md): what each fills in for the settings left unset. The
 * general settings' are here; each provider module (providers/) gives its own, and the configuration
 * (config.ts `configurationFor`) applies both; `npm run check-config` reports which setting came from one.
 */

/** `MESSAGING_PROFILE`: `development` points every provider setting left unset at the simulator. */
export const PROFILES = ['production', 'development'] as const;
export type Profile = (typeof PROFILES)[number];

/** The general settings a profile may fill in. */
type ProfileValues = Partial<
  Record<
    'TEMPORAL_CODEC_KEYS' | 'PROVIDER_CREDENTIALS_KEYS' | 'WEBHOOK_SECRET' | 'CUSTOMER_HASH_SECRET' | 'SIMULATOR_URL',
    string
  > & {
    ALLOW_PRIVATE_NETWORK_URLS: 'true' | 'false';
  }
>;

/**
 * What each profile fills in for the general settings left unset. `production` (the default): nothing, so that a
 * forgotten secret stops the process instead of using a public one. `development` (set by `npm run dev`, the tests
 * and the bench): keys and secrets as public as the simulator the providers point at.
 */
export const PROFILE_DEFAULTS: Record<Profile, ProfileValues> = {
  production: {},
  development: {
    // A fixed key, public like the rest of this profile: histories kept in .data/temporal.db stay readable.
    TEMPORAL_CODEC_KEYS: 'dev:T3NKMdyGTggBUv8ptY1HVf3N1dQT4iT9Wzx+JbYsD7g=',
    // Public too: credentials registered on `npm run dev` are the simulator's, and .data/ keeps them across restarts.
    PROVIDER_CREDENTIALS_KEYS: 'dev:0AlB09G2rzjOiIIw51kD+rDJVqSVlXz/1Cw3uivNObE=',
    WEBHOOK_SECRET: 'development-webhook-secret',
    CUSTOMER_HASH_SECRET: 'development-customer-hash-secret',
    // Callbacks to a receiver on this machine (a test's, `npm run dev`'s).
    ALLOW_PRIVATE_NETWORK_URLS: 'true',
    // Named by `GET /`: where to read what the simulator received, at its default port (where the providers' own
    // development defaults point too).
    SIMULATOR_URL: 'http://127.0.0.1:4010',
  },
};
