import { z } from 'zod';
import type { Channel } from '../common/config/config';
import type { Profile } from '../common/config/profiles';
import type { PermanentProviderError, TransientProviderError } from '../common/domain/http-errors';
import type { ErrorCodeReader, ProviderHttpClient } from './http-client';

/**
 * What one provider is, in one module (`<type>-provider.ts`): the provider class and this description of it, which
 * provider-registry.ts lists. Configuration (the environment variables, `providers.<channel>`, the profiles'
 * defaults), the provider API's schemas, the registered providers' policy and the worker's boot check all derive
 * from that list, so adding a provider is one module and one line of the registry.
 */
export interface ProviderModule<
  Type extends string = string,
  Settings extends Record<string, unknown> = Record<string, unknown>,
  Instance extends object = object,
> {
  /** The provider type: `providerType` of a registered provider, a value of `providers.<channel>` in configuration. */
  type: Type;
  /** The channels it sends on; its class implements the channel interface of each (channel-interfaces.ts). */
  channels: readonly [Channel, ...Channel[]];
  /**
   * Its settings, strict (an unknown key is refused by name): checked before it is built, whether they come from the
   * environment or are a registered provider's credentials.
   */
  settingsSchema: z.ZodType<Settings>;
  /**
   * The environment variable of each setting the configuration fills (docs/configuration.md); `null` for a type
   * that exists only as a registered provider (`/providers`), which the configuration cannot name.
   */
  environment: { [Setting in keyof Settings]?: string } | null;
  /**
   * The channels whose `providers.<channel>` defaults to this type when the configuration names none; empty when it
   * is the default of none.
   */
  defaultFor: readonly Channel[];
  /**
   * What each `MESSAGING_PROFILE` fills in for the settings left unset, by setting. `production`: only the public
   * endpoints that are the same for every account (a forgotten credential stops the worker instead of sending
   * somewhere else); `development`: the provider simulator (`SIMULATOR_URL`) with the credentials it accepts.
   */
  profileDefaults: { [P in Profile]: { [Setting in keyof Settings]?: string } };
  /** The settings that are URLs the worker calls or connects to: a registered provider's must name `publicHosts`. */
  urlSettings: readonly (keyof Settings & string)[];
  /**
   * The hosts its public API lives at, a name or `*.domain` for any host under it: what a registered provider's URLs
   * may name outside the development profile (`registeredProviders.allowedHosts` adds more).
   */
  publicHosts: readonly string[];
  /**
   * How its refusals are read into a retryable or permanent failure with a short reason: from the body of its HTTP
   * answer (`answerBody`, used with the status by `ProviderHttpClient`), or from what its SDK throws (`thrown`);
   * `null` when the HTTP status alone says it.
   */
  errorReader: { answerBody: ErrorCodeReader } | { thrown: ThrownErrorReader } | null;
  /** Builds the provider from settings `settingsSchema` accepted; throws `ProviderSettingsError` when it cannot. */
  build(settings: Settings, shared: SharedProviderResources): Instance;
}

/** Reads what a provider's SDK throws (an AWS exception, an SMTP reply) into a retryable or permanent failure. */
export type ThrownErrorReader = (error: unknown) => TransientProviderError | PermanentProviderError;

/** What every provider built by one factory shares. */
export interface SharedProviderResources {
  /** The one pooled HTTP client; its owner closes it, not the providers. */
  http: ProviderHttpClient;
}

/** Where the development profile points every provider: the simulator at its default port (`npm run dev`). */
export const SIMULATOR_URL = 'http://127.0.0.1:4010';

/**
 * Runs a whole-object check even when a field already failed, so that one answer names every refused field
 * (zod skips refinements after the first issue otherwise).
 */
export const ALWAYS = { when: () => true };

/** A setting that must be given and not empty. */
export const nonEmpty = z.string().min(1);

/**
 * The settings every provider behind a public HTTP API (Twilio, Kaleyra, Infobip, FCM) starts from: `baseUrl`, the root
 * its API paths are joined to, the provider's own host in production and the simulator locally (docs/configuration.md).
 * Each of their schemas extends it with the account's own fields.
 */
export const httpProviderSettingsSchema = z.strictObject({
  /** Root of the provider's API, e.g. `https://api.twilio.com`; a trailing slash is allowed (see `joinUrl`). */
  baseUrl: z.url(),
});

/** Checks a module against the contract while keeping its literal type (its `type`, its settings). */
export const defineProvider = <Type extends string, Settings extends Record<string, unknown>, Instance extends object>(
  module: ProviderModule<Type, Settings, Instance>,
): ProviderModule<Type, Settings, Instance> => module;

/** One setting a provider refuses: `setting` is its field (`authToken`), empty for the settings as a whole. */
export interface SettingIssue {
  setting: string;
  message: string;
}

/**
 * Settings that fail their provider's schema or cannot be used (an FCM key file that does not parse), or a provider
 * type nobody knows. Raised when the provider is built: at the worker's boot for the configured ones.
 */
export class ProviderSettingsError extends Error {
  override name = 'ProviderSettingsError';
  constructor(
    message: string,
    /** The `providerType` of the refused spec, as given. */
    readonly providerType: string,
    /** Each refused setting, so that a caller can name where it came from (`providerSettingsFromConfig`). */
    readonly issues: readonly SettingIssue[] = [],
  ) {
    super(message);
  }

  /** `<type> settings: <setting>: <message>; ...` for each issue. */
  static of(providerType: string, issues: readonly SettingIssue[]): ProviderSettingsError {
    const described = issues.map(({ setting, message }) => `${setting || '(settings)'}: ${message}`);
    return new ProviderSettingsError(`${providerType} settings: ${described.join('; ')}`, providerType, issues);
  }
}
