import { configurationFor } from '../common/config/config';
import { PROVIDER_CATALOG } from './provider-registry';

/**
 * The service's configuration with the providers of the registry (docs/configuration.md): what the API, the worker,
 * `npm run check-config` and the scripts load. common/config/config.ts holds the general part and names no provider.
 */
export const { envSchema, serviceConfigSchema, profileDefaults, parseEnvironment, parseServiceConfig, loadConfig } =
  configurationFor(PROVIDER_CATALOG);
