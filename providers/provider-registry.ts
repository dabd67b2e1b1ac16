import type { z } from 'zod';
import { CHANNELS, type Channel, type ProviderCatalog } from '../common/config/config';
import { PROFILES, type Profile } from '../common/config/profiles';
import { fcmProvider } from './fcm-provider';
import { infobipProvider } from './infobip-provider';
import { kaleyraProvider } from './kaleyra-provider';
import { miaSmsServiceProvider } from './mia-sms-service-provider';
import { pinpointProvider } from './pinpoint-provider';
import type { ProviderModule } from './provider-module';
import { sesProvider } from './ses-provider';
import { smtpProvider } from './smtp-provider';
import { twilioProvider } from './twilio-provider';

/**
 * Every provider the service can send through, one module each (provider-module.ts says what a module holds). The
 * one list to extend with a new provider: the configuration's variables and `providers.<channel>` values, the
 * profiles' defaults, the provider API's `providerType`, the registered providers' policy and the worker's factory
 * all derive from it. Its order is the order the API and the error messages list the types in.
 */
export const PROVIDER_MODULES = [
  smtpProvider,
  sesProvider,
  twilioProvider,
  kaleyraProvider,
  pinpointProvider,
  infobipProvider,
  fcmProvider,
  miaSmsServiceProvider,
] as const;

type AnyProviderModule = (typeof PROVIDER_MODULES)[number];
export type ProviderType = AnyProviderModule['type'];

/** The module of one provider type. */
export type ProviderModuleOf<T extends ProviderType> = Extract<AnyProviderModule, { type: T }>;

/** A provider type's settings, as its schema gives them. */
export type ProviderSettings<T extends ProviderType> =
  ProviderModuleOf<T> extends ProviderModule<T, infer Settings, object> ? Settings : never;

/** What a provider type's module builds; Twilio's implements both `SmsProvider` and `VoiceProvider`. */
export type ProviderOf<T extends ProviderType> = ReturnType<ProviderModuleOf<T>['build']>;

/** Every provider type, in the registry's order. */
export const PROVIDER_TYPES = PROVIDER_MODULES.map((module) => module.type) as unknown as readonly [
  ProviderType,
  ...ProviderType[],
];

const byType = <Value>(pick: (module: AnyProviderModule) => Value) =>
  Object.fromEntries(PROVIDER_MODULES.map((module) => [module.type, pick(module)])) as Record<ProviderType, Value>;

/** Each type's module by its type. */
export const PROVIDERS = byType((module) => module) as { [T in ProviderType]: ProviderModuleOf<T> };

/** Whether `type` names a provider of the registry (a stored document or a spec may name anything). */
export const isProviderType = (type: string): type is ProviderType => Object.hasOwn(PROVIDERS, type);

/** Each type's settings schema: a registered provider's credentials ARE its settings. */
export const PROVIDER_SETTINGS_SCHEMAS = byType((module) => module.settingsSchema as z.ZodType) as {
  [T in ProviderType]: z.ZodType<ProviderSettings<T>>;
};

/** The channels each provider type can serve. */
export const PROVIDER_CHANNELS = byType((module): readonly Channel[] => module.channels);

/** The environment variable of each setting of a type the configuration can name; `null` for the others. */
export const settingVariables = (type: ProviderType): Readonly<Record<string, string>> | null =>
  PROVIDERS[type].environment as Readonly<Record<string, string>> | null;

/**
 * Per channel, the types `providers.<channel>` may name: those with an environment mapping that serve the channel,
 * the one whose `defaultFor` names the channel first.
 */
function configurableTypes(channel: Channel): [ProviderType, ...ProviderType[]] {
  const serving = PROVIDER_MODULES.filter(
    (module) => module.environment !== null && (module.channels as readonly Channel[]).includes(channel),
  );
  const isDefault = (module: AnyProviderModule) => (module.defaultFor as readonly Channel[]).includes(channel);
  return [...serving.filter(isDefault), ...serving.filter((module) => !isDefault(module))].map(
    (module) => module.type,
  ) as [ProviderType, ...ProviderType[]];
}

/** A profile's defaults, by environment variable, of every configurable provider. */
function profileVariables(profile: Profile): Record<string, string> {
  return Object.fromEntries(
    PROVIDER_MODULES.flatMap((module) => {
      const variables = settingVariables(module.type);
      if (!variables) return [];
      const defaults = module.profileDefaults[profile] as Record<string, string | undefined>;
      return Object.entries(variables)
        .filter(([setting]) => defaults[setting] !== undefined)
        .map(([setting, variable]) => [variable, defaults[setting]!]);
    }),
  );
}

/** What the configuration needs of the providers (common/config/config.ts `configurationFor`). */
export const PROVIDER_CATALOG: ProviderCatalog = {
  types: PROVIDER_TYPES,
  configurable: Object.fromEntries(CHANNELS.map((channel) => [channel, configurableTypes(channel)])) as Record<
    Channel,
    [ProviderType, ...ProviderType[]]
  >,
  variables: PROVIDER_MODULES.flatMap((module) => Object.values(settingVariables(module.type) ?? {})),
  profileDefaults: Object.fromEntries(PROFILES.map((profile) => [profile, profileVariables(profile)])) as Record<
    Profile,
    Record<string, string>
  >,
};
