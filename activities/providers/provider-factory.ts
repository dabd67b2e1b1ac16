import { ConfigurationError, type AppConfig, type Channel } from '../../common/config/config';
import type { ChannelProviders } from '../../providers/channel-interfaces';
import { ProviderHttpClient } from '../../providers/http-client';
import { ProviderSettingsError, type SharedProviderResources } from '../../providers/provider-module';
import {
  isProviderType,
  PROVIDER_TYPES,
  PROVIDERS,
  settingVariables,
  type ProviderOf,
  type ProviderSettings,
  type ProviderType,
} from '../../providers/provider-registry';
import { InactiveChannelProvider } from './inactive-channel';

export type { ProviderOf, ProviderType } from '../../providers/provider-registry';
export type { SharedProviderResources } from '../../providers/provider-module';

/**
 * One provider to build: its type and its own settings, e.g.
 * `{ providerType: 'twilio', settings: { baseUrl, accountSid, authToken } }`.
 */
export type ProviderSpec = {
  [T in ProviderType]: { providerType: T; settings: ProviderSettings<T> };
}[ProviderType];

/**
 * Builds one provider from its spec, whether the spec comes from configuration (`providerSettingsFromConfig`)
 * or from stored credentials. The settings are validated against the type's schema first: a bad spec throws a
 * `ProviderSettingsError` naming the type and the field (`twilio settings: accountSid: ...`) before anything
 * is built.
 */
export function createProvider<S extends ProviderSpec>(
  spec: S,
  shared: SharedProviderResources,
): ProviderOf<S['providerType']> {
  const type: string = spec.providerType;
  if (!isProviderType(type)) {
    throw new ProviderSettingsError(`unknown provider type "${type}" (known: ${PROVIDER_TYPES.join(', ')})`, type);
  }
  const module = PROVIDERS[type];
  const parsed = module.settingsSchema.safeParse(spec.settings);
  if (!parsed.success) {
    throw ProviderSettingsError.of(
      type,
      parsed.error.issues.map((issue) => ({ setting: issue.path.join('.'), message: issue.message })),
    );
  }
  // The schema and the builder of one module belong together, which TypeScript cannot see across the union.
  const build = module.build as (settings: unknown, shared: SharedProviderResources) => ProviderOf<S['providerType']>;
  return build(parsed.data, shared);
}

/** The active channels each provider type serves, per `activeChannels` and `providers.<channel>`. */
export function activeProviderTypes(config: AppConfig): Map<ProviderType, Channel[]> {
  const served = new Map<ProviderType, Channel[]>();
  for (const channel of config.service.activeChannels) {
    // The configuration names only the types of the registry (its `providers.<channel>` enums derive from it).
    const type = config.service.providers[channel] as ProviderType;
    served.set(type, [...(served.get(type) ?? []), channel]);
  }
  return served;
}

/**
 * The spec of every provider type an active channel uses (`activeChannels`, `providers.<channel>`), from today's
 * environment variables (docs/configuration.md): one spec per type however many channels it serves. An inactive
 * channel's provider needs nothing. The settings are as the environment has them: `createProvider` checks them.
 */
export function providerSettingsFromConfig(config: AppConfig): ProviderSpec[] {
  return [...activeProviderTypes(config).keys()].map(
    (type) =>
      ({
        providerType: type,
        settings: Object.fromEntries(
          Object.entries(settingVariables(type) ?? {}).map(([setting, variable]) => [setting, config.env[variable]]),
        ),
      }) as ProviderSpec,
  );
}

/** One refused provider setting, in the name an operator sets. */
interface VariableProblem {
  /** `TWILIO_AUTH_TOKEN: required (twilio sends sms, voice)`, `TWILIO_BASE_URL: Invalid URL (twilio sends sms)`. */
  text: string;
  /** The variable is unset. */
  missing: boolean;
}

function describeInVariables(config: AppConfig, error: ProviderSettingsError, channels: Channel[]): VariableProblem[] {
  const type = error.providerType as ProviderType;
  const variables: Record<string, string | undefined> = settingVariables(type) ?? {};
  const uses = `${type} sends ${channels.join(', ')}`;
  if (error.issues.length === 0) return [{ text: `${error.message} (${uses})`, missing: false }];
  return error.issues.map(({ setting, message }) => {
    const variable = variables[setting.split('.')[0]];
    if (!variable) return { text: `${type} settings: ${setting}: ${message} (${uses})`, missing: false };
    const missing = config.env[variable] === undefined;
    return { text: `${variable}: ${missing ? 'required' : message} (${uses})`, missing };
  });
}

/**
 * Builds the provider of each active channel named by `providers` in the service configuration (docs/api.md "Channels
 * and providers"): one instance per provider type, shared by the channels it serves (Twilio for sms and voice is one
 * instance), all on one pooled HTTP client; an inactive channel gets a provider that refuses every message. Building
 * checks every setting (FCM reads its service account), so that the worker refuses to boot, with a `ConfigurationError`
 * naming each variable that is missing or malformed, instead of failing at the first message. `close()` closes the
 * providers that hold connections, then the HTTP client.
 */
export function createChannelProviders(config: AppConfig): ChannelProviders {
  const served = activeProviderTypes(config);
  const http = new ProviderHttpClient();
  const instances = new Map<ProviderType, ProviderOf<ProviderType>>();
  const problems: VariableProblem[] = [];
  for (const spec of providerSettingsFromConfig(config)) {
    try {
      instances.set(spec.providerType, createProvider(spec, { http }));
    } catch (error) {
      if (!(error instanceof ProviderSettingsError)) throw error;
      problems.push(...describeInVariables(config, error, served.get(spec.providerType) ?? []));
    }
  }
  const close = async () => {
    for (const provider of instances.values()) if ('close' in provider) await provider.close();
    await http.close();
  };
  if (problems.length > 0) {
    void close();
    // Outside the development profile nothing points at the simulator: say so to whoever expected it to.
    const hint =
      config.env.MESSAGING_PROFILE !== 'development' && problems.some((problem) => problem.missing)
        ? " (no provider credential has a default; MESSAGING_PROFILE=development gives the simulator's)"
        : '';
    const described = problems.map((problem) => problem.text).join('; ');
    throw new ConfigurationError(`invalid environment for the active channels: ${described}${hint}`);
  }
  const { activeChannels, providers } = config.service;
  // The configuration names, per channel, only types that serve it (its `providers.<channel>` enums).
  const providerOf = <Provider>(channel: Channel) =>
    activeChannels.includes(channel)
      ? (instances.get(providers[channel] as ProviderType) as Provider)
      : new InactiveChannelProvider(channel);
  return {
    email: providerOf<ChannelProviders['email']>('email'),
    sms: providerOf<ChannelProviders['sms']>('sms'),
    voice: providerOf<ChannelProviders['voice']>('voice'),
    push: providerOf<ChannelProviders['push']>('push'),
    whatsapp: providerOf<ChannelProviders['whatsapp']>('whatsapp'),
    close,
  };
}

/**
 * What the worker checks of its providers at boot, without sending anything: builds them from the configuration and
 * closes them. Throws the same `ConfigurationError` as the worker (`npm run check-config`, `npm run dev`).
 */
export async function checkChannelProviders(config: AppConfig): Promise<void> {
  await createChannelProviders(config).close();
}
