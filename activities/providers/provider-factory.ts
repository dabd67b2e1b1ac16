import type { z } from 'zod';
import type { AppConfig } from '../../common/config';
import type { ChannelProviders } from './channel-interfaces';
import { fcmSettingsSchema, FcmProvider, type FcmSettings } from './fcm';
import { ProviderHttpClient } from './http-client';
import { infobipSettingsSchema, InfobipProvider, type InfobipSettings } from './infobip';
import { kaleyraSettingsSchema, KaleyraProvider, type KaleyraSettings } from './kaleyra';
import { miaSmsServiceSettingsSchema, MiaSmsServiceProvider, type MiaSmsServiceSettings } from './mia-sms-service';
import { smtpSettingsSchema, SmtpProvider, type SmtpSettings } from './smtp';
import { twilioSettingsSchema, TwilioProvider, type TwilioSettings } from './twilio';

/** Each provider type with its settings and what it builds; the one list to extend with a new provider. */
interface ProviderTypes {
  twilio: { settings: TwilioSettings; provider: TwilioProvider };
  kaleyra: { settings: KaleyraSettings; provider: KaleyraProvider };
  infobip: { settings: InfobipSettings; provider: InfobipProvider };
  fcm: { settings: FcmSettings; provider: FcmProvider };
  smtp: { settings: SmtpSettings; provider: SmtpProvider };
  'mia-sms-service': { settings: MiaSmsServiceSettings; provider: MiaSmsServiceProvider };
}

export type ProviderType = keyof ProviderTypes;

/** What `createProvider` builds for a type; Twilio's implements both `SmsProvider` and `VoiceProvider`. */
export type ProviderOf<T extends ProviderType> = ProviderTypes[T]['provider'];

/**
 * One provider to build: its type and its own settings, e.g.
 * `{ providerType: 'twilio', settings: { baseUrl, accountSid, authToken } }`.
 */
export type ProviderSpec = {
  [T in ProviderType]: { providerType: T; settings: ProviderTypes[T]['settings'] };
}[ProviderType];

/** What every provider built by one `createChannelProviders` shares. */
export interface SharedProviderResources {
  /** The worker's one pooled HTTP client; its owner closes it, not the providers. */
  http: ProviderHttpClient;
}

/** Settings that fail their provider's schema, or a provider type nobody knows. */
export class ProviderSettingsError extends Error {
  override name = 'ProviderSettingsError';
  constructor(
    message: string,
    /** The `providerType` of the refused spec, as given. */
    readonly providerType: string,
  ) {
    super(message);
  }
}

interface ProviderBuilder<T extends ProviderType> {
  schema: z.ZodType<ProviderTypes[T]['settings']>;
  build(settings: ProviderTypes[T]['settings'], shared: SharedProviderResources): ProviderOf<T>;
}

const BUILDERS: { [T in ProviderType]: ProviderBuilder<T> } = {
  twilio: { schema: twilioSettingsSchema, build: (settings, { http }) => new TwilioProvider(http, settings) },
  kaleyra: { schema: kaleyraSettingsSchema, build: (settings, { http }) => new KaleyraProvider(http, settings) },
  infobip: { schema: infobipSettingsSchema, build: (settings, { http }) => new InfobipProvider(http, settings) },
  fcm: { schema: fcmSettingsSchema, build: (settings, { http }) => new FcmProvider(http, settings) },
  smtp: { schema: smtpSettingsSchema, build: (settings) => new SmtpProvider(settings) },
  'mia-sms-service': {
    schema: miaSmsServiceSettingsSchema,
    build: (settings, { http }) => new MiaSmsServiceProvider(http, settings),
  },
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
  if (!builder) {
    throw new ProviderSettingsError(
      `unknown provider type "${String(spec.providerType)}" (known: ${Object.keys(BUILDERS).join(', ')})`,
      String(spec.providerType),
    );
  }
  const parsed = builder.schema.safeParse(spec.settings);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(settings)'}: ${issue.message}`);
    throw new ProviderSettingsError(`${spec.providerType} settings: ${issues.join('; ')}`, spec.providerType);
  }
  return builder.build(parsed.data, shared);
}

/**
 * The spec of every provider type that `config.service.providers` names, from today's environment variables
 * (README "Configuration"): one spec per type however many channels it serves.
 */
export function providerSettingsFromConfig(config: AppConfig): ProviderSpec[] {
  const { env, service } = config;
  const specOf = (type: ProviderType): ProviderSpec => {
    switch (type) {
      case 'twilio':
        return {
          providerType: type,
          settings: {
            baseUrl: env.TWILIO_BASE_URL,
            accountSid: env.TWILIO_ACCOUNT_SID,
            authToken: env.TWILIO_AUTH_TOKEN,
          },
        };
      case 'kaleyra':
        return {
          providerType: type,
          settings: { baseUrl: env.KALEYRA_BASE_URL, apiKey: env.KALEYRA_API_KEY, sid: env.KALEYRA_SID },
        };
      case 'infobip':
        return { providerType: type, settings: { baseUrl: env.INFOBIP_BASE_URL, apiKey: env.INFOBIP_API_KEY } };
      case 'fcm':
        return {
          providerType: type,
          settings: {
            baseUrl: env.FCM_BASE_URL,
            tokenUrl: env.FCM_TOKEN_URL,
            projectId: env.FCM_PROJECT_ID,
            credentialsPath: env.FCM_CREDENTIALS_PATH,
          },
        };
      case 'smtp':
        return { providerType: type, settings: { url: env.SMTP_URL } };
      case 'mia-sms-service':
        // The one provider without a default: it is chosen only by users who already run the SMS Service.
        if (!env.SMS_SERVICE_URL) throw new Error('providers.sms is "mia-sms-service" but SMS_SERVICE_URL is not set');
        return { providerType: type, settings: { baseUrl: env.SMS_SERVICE_URL } };
    }
  };
  return [...new Set(Object.values(service.providers))].map(specOf);
}

/**
 * Builds the provider of each channel named by `providers` in the service configuration (README "Channels and
 * providers"): one instance per provider type, shared by the channels it serves (Twilio for sms and voice is
 * one instance), all on one pooled HTTP client. `close()` closes the providers that hold connections, then
 * the HTTP client.
 */
export function createChannelProviders(config: AppConfig): ChannelProviders {
  const specs = providerSettingsFromConfig(config);
  const http = new ProviderHttpClient();
  const instances = new Map<ProviderType, ProviderOf<ProviderType>>(
    specs.map((spec) => [spec.providerType, createProvider(spec, { http })]),
  );
  const instance = <T extends ProviderType>(type: T) => instances.get(type) as ProviderOf<T>;
  const { providers } = config.service;
  return {
    email: instance(providers.email),
    sms: instance(providers.sms),
    voice: instance(providers.voice),
    push: instance(providers.push),
    whatsapp: instance(providers.whatsapp),
    async close() {
      for (const provider of instances.values()) if ('close' in provider) await provider.close();
      await http.close();
    },
  };
}
