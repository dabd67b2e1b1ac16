export type * from './channel-interfaces';
export {
  createChannelProviders,
  createProvider,
  activeProviderTypes,
  checkChannelProviders,
  providerSettingsFromConfig,
  type ProviderOf,
  type ProviderSpec,
  type ProviderType,
  type SharedProviderResources,
} from './provider-factory';
export { ProviderSettingsError, type SettingIssue } from './settings-error';
export { InactiveChannelProvider } from './inactive-channel';
export { ProviderHttpClient } from './http-client';
export { FcmProvider, fcmSettingsSchema, readServiceAccount, type FcmSettings } from './fcm';
export { InfobipProvider, infobipSettingsSchema, type InfobipSettings } from './infobip';
export { KaleyraProvider, kaleyraSettingsSchema, type KaleyraSettings } from './kaleyra';
export { MiaSmsServiceProvider, miaSmsServiceSettingsSchema, type MiaSmsServiceSettings } from './mia-sms-service';
export { SmtpProvider, smtpSettingsSchema, type SmtpSettings } from './smtp';
export { TwilioProvider, twilioSettingsSchema, type TwilioSettings } from './twilio';
