import type { Channel } from './channels';
import type { Profile } from './profiles';

/**
 * What the configuration needs to know of the providers. common/ names none of them: providers/provider-registry.ts
 * lists them and derives this, and providers/service-configuration.ts composes the configuration with it.
 */
export interface ProviderCatalog {
  /** Every provider type, as `registeredProviders.allowedHosts` and the provider API name them. */
  types: readonly [string, ...string[]];
  /** Per channel, the types `providers.<channel>` may name, its default first. */
  configurable: Record<Channel, readonly [string, ...string[]]>;
  /** The environment variables of the configurable providers' settings, in order. */
  variables: readonly string[];
  /** What each `MESSAGING_PROFILE` fills in for the variables left unset. */
  profileDefaults: Record<Profile, Readonly<Record<string, string>>>;
}
