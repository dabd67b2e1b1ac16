import { ConfigurationError, type AppConfig, type Channel, type Env } from '../../common/config/config';
import {
  PROVIDER_SETTINGS_SCHEMAS,
  type ProviderSettings,
  type ProviderType,
} from '../../common/config/provider-settings';
import type { ChannelProviders } from './channel-interfaces';
import { FcmProvider } from './fcm';
import { ProviderHttpClient } from './http-client';
import { InactiveChannelProvider } from './inactive-channel';
import { InfobipProvider } from './infobip';
import { KaleyraProvider } from './kaleyra';
import { MiaSmsServiceProvider } from './mia-sms-service';
import { PinpointSmsProvider } from './pinpoint';
import { ProviderSettingsError } from './settings-error';
import { SesProvider } from './ses';
import { SmtpProvider } from './smtp';
import { TwilioProvider } from './twilio';

export type { ProviderType } from '../../common/config/provider-settings';

/** What each provider type builds; the one list to extend with a new provider (its settings: common/provider-settings). */
interface ProviderClasses {
  twilio: TwilioProvider;
  kaleyra: KaleyraProvider;
  infobip: InfobipProvider;
  fcm: FcmProvider;
  smtp: SmtpProvider;
  'mia-sms-service': MiaSmsServiceProvider;
  ses: SesProvider;
  pinpoint: PinpointSmsProvider;
}

/** What `createProvider` builds for a type; Twilio's implements both `SmsProvider` and `VoiceProvider`. */
export type ProviderOf<T extends ProviderType> = ProviderClasses[T];

/**
 * One provider to build: its type and its own settings, e.g.
 * `{ providerType: 'twilio', settings: { baseUrl, accountSid, authToken } }`.
 */
export type ProviderSpec = {
  [T in ProviderType]: { providerType: T; settings: ProviderSettings<T> };
}[ProviderType];

/** What every provider built by one `createChannelProviders` shares. */
export interface SharedProviderResources {
  /** The worker's one pooled HTTP client; its owner closes it, not the providers. */
  http: ProviderHttpClient;
}

/** Builds a provider from settings its type's schema (`PROVIDER_SETTINGS_SCHEMAS`) has accepted. */
type ProviderBuilder<T extends ProviderType> = (
  settings: ProviderSettings<T>,
  shared: SharedProviderResources,
) => ProviderOf<T>;

const BUILDERS: { [T in ProviderType]: ProviderBuilder<T> } = {
  twilio: (settings, { http }) => new TwilioProvider(http, settings),
  kaleyra: (settings, { http }) => new KaleyraProvider(http, settings),
  infobip: (settings, { http }) => new InfobipProvider(http, settings),
  fcm: (settings, { http }) => new FcmProvider(http, settings),
  smtp: (settings) => new SmtpProvider(settings),
  'mia-sms-service': (settings, { http }) => new MiaSmsServiceProvider(http, settings),
  // Each holds its own AWS SDK client (signing, its own connection pool): closed with the provider.
  ses: (settings) => new SesProvider(settings),
  pinpoint: (settings) => new PinpointSmsProvider(settings),
};

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
  // The schema and the builder looked up by one type belong together, which TypeScript cannot see across a union.
  const builder = (Object.hasOwn(BUILDERS, spec.providerType) ? BUILDERS[spec.providerType] : undefined) as
    ProviderBuilder<S['providerType']> | undefined;
  const schema = PROVIDER_SETTINGS_SCHEMAS[spec.providerType];
  if (!builder || !schema) {
    throw new ProviderSettingsError(
      `unknown provider type "${String(spec.providerType)}" (known: ${Object.keys(BUILDERS).join(', ')})`,
      String(spec.providerType),
    );
  }
  const parsed = schema.safeParse(spec.settings);
  if (!parsed.success) {
    throw ProviderSettingsError.of(
      spec.providerType,
      parsed.error.issues.map((issue) => ({ setting: issue.path.join('.'), message: issue.message })),
    );
  }
  return builder(parsed.data as ProviderSettings<S['providerType']>, shared);
}

/** The provider types the service configuration can name for a channel (`providers.<channel>`). */
type ConfiguredProviderType = AppConfig['service']['providers'][Channel];
type ConfiguredProviderSpec = Extract<ProviderSpec, { providerType: ConfiguredProviderType }>;

/**
 * The environment variable of each setting of each provider type the configuration can name (docs/configuration.md
 * "Configuration"); the others (SES, Pinpoint) exist only as registered providers.
 */
const SETTING_VARIABLES: {
  [T in ConfiguredProviderType]: Partial<Record<keyof ProviderSettings<T>, keyof Env>>;
} = {
  twilio: { baseUrl: 'TWILIO_BASE_URL', accountSid: 'TWILIO_ACCOUNT_SID', authToken: 'TWILIO_AUTH_TOKEN' },
  kaleyra: { baseUrl: 'KALEYRA_BASE_URL', apiKey: 'KALEYRA_API_KEY', sid: 'KALEYRA_SID' },
  infobip: { baseUrl: 'INFOBIP_BASE_URL', apiKey: 'INFOBIP_API_KEY' },
  fcm: {
    baseUrl: 'FCM_BASE_URL',
    tokenUrl: 'FCM_TOKEN_URL',
    projectId: 'FCM_PROJECT_ID',
    credentialsPath: 'FCM_CREDENTIALS_PATH',
  },
  smtp: { url: 'SMTP_URL' },
  'mia-sms-service': { baseUrl: 'SMS_SERVICE_URL' },
};

/** The active channels each provider type serves, per `activeChannels` and `providers.<channel>`. */
export function activeProviderTypes(config: AppConfig): Map<ConfiguredProviderType, Channel[]> {
  const served = new Map<ConfiguredProviderType, Channel[]>();
  for (const channel of config.service.activeChannels) {
    const type = config.service.providers[channel];
    served.set(type, [...(served.get(type) ?? []), channel]);
  }
  return served;
}

/**
 * The spec of every provider type an active channel uses (`activeChannels`, `providers.<channel>`), from today's
 * environment variables (docs/configuration.md): one spec per type however many channels it serves. An inactive
 * channel's provider needs nothing. The settings are as the environment has them: `createProvider` checks them.
 */
export function providerSettingsFromConfig(config: AppConfig): ConfiguredProviderSpec[] {
  return [...activeProviderTypes(config).keys()].map(
    (type) =>
      ({
        providerType: type,
        settings: Object.fromEntries(
          Object.entries(SETTING_VARIABLES[type]).map(([setting, variable]) => [setting, config.env[variable]]),
        ),
      }) as ConfiguredProviderSpec,
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
  const type = error.providerType as ConfiguredProviderType;
  const variables: Record<string, keyof Env | undefined> = SETTING_VARIABLES[type];
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
 * and providers"): one instance per provider type, shared by the channels it serves (Twilio for sms and voice is
 * one instance), all on one pooled HTTP client; an inactive channel gets a provider that refuses every message.
 * Building checks every setting (FCM reads its service account), so that the worker refuses to boot, with a
 * `ConfigurationError` naming each variable that is missing or malformed, instead of failing at the first message.
 * `close()` closes the providers that hold connections, then the HTTP client.
 */
export function createChannelProviders(config: AppConfig): ChannelProviders {
  const served = activeProviderTypes(config);
  const http = new ProviderHttpClient();
  const instances = new Map<ConfiguredProviderType, ProviderOf<ConfiguredProviderType>>();
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
  const providerOf = <T extends ConfiguredProviderType>(channel: Channel, type: T) =>
    activeChannels.includes(channel) ? (instances.get(type) as ProviderOf<T>) : new InactiveChannelProvider(channel);
  return {
    email: providerOf('email', providers.email),
    sms: providerOf('sms', providers.sms),
    voice: providerOf('voice', providers.voice),
    push: providerOf('push', providers.push),
    whatsapp: providerOf('whatsapp', providers.whatsapp),
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
