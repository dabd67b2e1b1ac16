export type * from '../../providers/channel-interfaces';
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
export { ProviderSettingsError, type SettingIssue } from '../../providers/provider-module';
export { InactiveChannelProvider } from './inactive-channel';
export { ProviderHttpClient } from '../../providers/http-client';
