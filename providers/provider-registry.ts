import { z } from 'zod';
import type { Channel } from './config';

/**
 * The settings of every provider type, in one place: the worker builds providers from them
 * (activities/providers/provider-factory.ts `createProvider`) and the API validates registered credentials with
 * the very same schemas (a registered provider's credentials ARE its settings). Every schema is strict: an unknown
 * key is refused by name (a typo such as `authtoken` is not silently dropped).
 */

export const PROVIDER_TYPES = [
  'smtp',
  'ses',
  'twilio',
  'kaleyra',
  'pinpoint',
  'infobip',
  'fcm',
  'mia-sms-service',
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/**
 * Runs a whole-object check even when a field already failed, so that one answer names every refused field
 * (zod skips refinements after the first issue otherwise).
 */
const ALWAYS = { when: () => true };

const nonEmpty = z.string().min(1);

/**
 * The settings every provider behind a public HTTP API (Twilio, Kaleyra, Infobip, FCM) starts from: `baseUrl`, the
 * root its API paths are joined to, the provider's own host in production and the simulator locally (README
 * "Configuration"). Each of their schemas extends it with the account's own fields.
 */
export const httpProviderSettingsSchema = z.strictObject({
  /** Root of the provider's API, e.g. `https://api.twilio.com`; a trailing slash is allowed (see `joinUrl`). */
  baseUrl: z.url(),
});

/** Where mail goes; `SMTP_URL` from the environment. */
export const smtpSettingsSchema = z.strictObject({
  /** `smtp://user:pass@host:587` (STARTTLS when the server offers it) or `smtps://` (TLS from the start). */
  url: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL'),
});
export type SmtpSettings = z.infer<typeof smtpSettingsSchema>;

/**
 * What a Twilio account needs; from `TWILIO_*` in configuration. `baseUrl` is the base of Twilio's REST API:
 * `https://api.twilio.com` in production, the simulator locally.
 */
export const twilioSettingsSchema = httpProviderSettingsSchema.extend({
  /** Account SID: the account of every resource and the basic-auth user. */
  accountSid: nonEmpty,
  /** Auth token: the basic-auth password, and the key Twilio signs its status callbacks with. */
  authToken: nonEmpty,
});
export type TwilioSettings = z.infer<typeof twilioSettingsSchema>;

/**
 * What a Kaleyra account needs; from `KALEYRA_*` in configuration. `baseUrl` is the base of Kaleyra's v1 API:
 * `https://api.kaleyra.io` in production, the simulator locally.
 */
export const kaleyraSettingsSchema = httpProviderSettingsSchema.extend({
  /** API key, sent in the `api-key` header. */
  apiKey: nonEmpty,
  /** Account SID, the first segment of every resource path (`/v1/{sid}/...`). */
  sid: nonEmpty,
});
export type KaleyraSettings = z.infer<typeof kaleyraSettingsSchema>;

/** Where Mia-Platform's SMS Service runs; `SMS_SERVICE_URL` in configuration. */
export const miaSmsServiceSettingsSchema = z.strictObject({
  /** Base URL of the SMS Service; messages go to `POST {baseUrl}/send`. */
  baseUrl: z.url(),
});
export type MiaSmsServiceSettings = z.infer<typeof miaSmsServiceSettingsSchema>;

/**
 * What an Infobip account needs: a base URL, the account's personal one (`https://<id>.api.infobip.com`, the
 * simulator locally), and one of two authentications:
 * - `{ baseUrl, apiKey }` (`INFOBIP_*` in configuration): `Authorization: App <apiKey>`;
 * - `{ apiBaseUrl, clientId, clientSecret }` (the OS1 registry's shape): OAuth 2.0 client credentials exchanged at
 *   `{base}/auth/1/oauth2/token` for a bearer token.
 * Either base URL name goes with either authentication; giving both base URLs, or both authentications, is refused.
 */
export const infobipSettingsSchema = z
  .strictObject({
    baseUrl: z.url().optional(),
    /** The OS1 registry's name of `baseUrl`. */
    apiBaseUrl: z.url().optional(),
    /** API key, sent as `Authorization: App <key>`. */
    apiKey: nonEmpty.optional(),
    /** OAuth 2.0 client id (client credentials grant). */
    clientId: nonEmpty.optional(),
    /** OAuth 2.0 client secret. */
    clientSecret: nonEmpty.optional(),
  })
  .superRefine((settings, context) => {
    const has = (key: keyof typeof settings) => settings[key] !== undefined;
    if (has('baseUrl') && has('apiBaseUrl')) {
      context.addIssue({ code: 'custom', path: ['apiBaseUrl'], message: 'give baseUrl or apiBaseUrl, not both' });
    } else if (!has('baseUrl') && !has('apiBaseUrl')) {
      context.addIssue({ code: 'custom', path: ['baseUrl'], message: 'required (or apiBaseUrl)' });
    }
    const oauth = has('clientId') || has('clientSecret');
    if (has('apiKey') && oauth) {
      const extra = has('clientId') ? 'clientId' : 'clientSecret';
      context.addIssue({
        code: 'custom',
        path: [extra],
        message: 'give apiKey or clientId and clientSecret, not both',
      });
    } else if (oauth) {
      for (const key of ['clientId', 'clientSecret'] as const)
        if (!has(key))
          context.addIssue({ code: 'custom', path: [key], message: 'required with OAuth client credentials' });
    } else if (!has('apiKey')) {
      context.addIssue({ code: 'custom', path: ['apiKey'], message: 'required (or clientId and clientSecret)' });
    }
  }, ALWAYS);
export type InfobipSettings = z.infer<typeof infobipSettingsSchema>;

/** A Google service-account JSON key, as Firebase's console downloads it; other keys of the file are kept. */
export const serviceAccountKeySchema = z.looseObject({
  client_email: nonEmpty,
  private_key: nonEmpty,
});

/**
 * What a Firebase project needs; from `FCM_*` in configuration. `baseUrl` is the base of the FCM HTTP v1 API:
 * `https://fcm.googleapis.com` in production, the simulator locally. The service account is either a file
 * (`credentialsPath`, configuration) or the key itself (`serviceAccount`, the registry), not both.
 */
export const fcmSettingsSchema = httpProviderSettingsSchema
  .extend({
    /** OAuth token endpoint the signed JWT is exchanged at, `https://oauth2.googleapis.com/token` in production. */
    tokenUrl: z.url(),
    /** Firebase project id, in `/v1/projects/{projectId}/messages:send`. */
    projectId: nonEmpty,
    /** Path of the service-account JSON key (`client_email`, `private_key`), read when the provider is built. */
    credentialsPath: nonEmpty.optional(),
    /** The service-account JSON key itself. */
    serviceAccount: serviceAccountKeySchema.optional(),
  })
  .superRefine((settings, context) => {
    if (settings.credentialsPath !== undefined && settings.serviceAccount !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['serviceAccount'],
        message: 'give credentialsPath or serviceAccount, not both',
      });
    } else if (settings.credentialsPath === undefined && settings.serviceAccount === undefined) {
      context.addIssue({ code: 'custom', path: ['credentialsPath'], message: 'required (or serviceAccount)' });
    }
  }, ALWAYS);
export type FcmSettings = z.infer<typeof fcmSettingsSchema>;

/** `eu-west-1`, `ap-south-1`, `us-gov-west-1`: what the AWS SDK resolves endpoints and signs requests for. */
const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1');

/** The access key of an AWS IAM user (or role session) and the region, shared by every AWS provider type. */
const awsAccountSettings = {
  accessKeyId: nonEmpty,
  secretAccessKey: nonEmpty,
  region: awsRegion,
  /**
   * The service's endpoint, e.g. the simulator's. Absent: the AWS SDK's own resolution, which honours the standard
   * `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` environment variables before the public endpoint.
   */
  endpoint: z.url().optional(),
};

/** Amazon SES (API v2) for email. */
export const sesSettingsSchema = z.strictObject({
  ...awsAccountSettings,
  /** The AWS account id, for reference only (the OS1 registry's sample carries it); never sent. */
  projectId: z.string().optional(),
});
export type SesSettings = z.infer<typeof sesSettingsSchema>;

/** AWS End User Messaging SMS (Pinpoint SMS and Voice API v2) for SMS. */
export const pinpointSettingsSchema = z.strictObject({
  ...awsAccountSettings,
  /** The origination number (or sender id, pool) used when a message names none. */
  originationNumber: nonEmpty.optional(),
  /** The registered entity id (India's DLT principal entity), sent with every message when set. */
  entityId: nonEmpty.optional(),
});
export type PinpointSettings = z.infer<typeof pinpointSettingsSchema>;

export const PROVIDER_SETTINGS_SCHEMAS = {
  smtp: smtpSettingsSchema,
  ses: sesSettingsSchema,
  twilio: twilioSettingsSchema,
  kaleyra: kaleyraSettingsSchema,
  pinpoint: pinpointSettingsSchema,
  infobip: infobipSettingsSchema,
  fcm: fcmSettingsSchema,
  'mia-sms-service': miaSmsServiceSettingsSchema,
} as const satisfies { [T in ProviderType]: z.ZodType };

export type ProviderSettings<T extends ProviderType> = z.infer<(typeof PROVIDER_SETTINGS_SCHEMAS)[T]>;

/** The channels each provider type can serve. */
export const PROVIDER_CHANNELS: Record<ProviderType, readonly Channel[]> = {
  smtp: ['email'],
  ses: ['email'],
  twilio: ['sms', 'voice'],
  kaleyra: ['sms', 'voice'],
  pinpoint: ['sms'],
  infobip: ['whatsapp'],
  fcm: ['push'],
  'mia-sms-service': ['sms'],
};
