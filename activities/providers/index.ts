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
export { FcmProvider, readServiceAccount, serviceAccountFrom } from './fcm';
export { InfobipProvider } from './infobip';
export { KaleyraProvider } from './kaleyra';
export { MiaSmsServiceProvider } from './mia-sms-service';
export { SmtpProvider } from './smtp';
export { SesProvider } from './ses';
export { PinpointSmsProvider } from './pinpoint';
export { TwilioProvider } from './twilio';
export {
  fcmSettingsSchema,
  infobipSettingsSchema,
  kaleyraSettingsSchema,
  miaSmsServiceSettingsSchema,
  pinpointSettingsSchema,
  sesSettingsSchema,
  smtpSettingsSchema,
  twilioSettingsSchema,
  type FcmSettings,
  type InfobipSettings,
  type KaleyraSettings,
  type MiaSmsServiceSettings,
  type PinpointSettings,
  type SesSettings,
  type SmtpSettings,
  type TwilioSettings,
} from '../../common/config/provider-settings';
