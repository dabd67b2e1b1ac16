import { readFileSync } from 'node:fs';
import path from 'node:path';
import { apiAuthMode, type ApiAuthMode } from './api-keys';
import { PROFILE_DEFAULTS, PROFILES, type Profile } from './profiles';
import { describeIssues } from '../toolkit/zod-issues';
import { ConfigurationError } from './configuration-error';
import { DEFAULT_CONFIGURATION_PATH, envSchemaFor, type Env } from './env-schema';
import type { ProviderCatalog } from './provider-catalog';
import { serviceConfigSchemaFor, type ServiceConfig } from './service-config-schema';

// The configuration's parts, one module each, named here as callers have always imported them.
export { CHANNELS, type Channel } from './channels';
export { checkEvery, ConfigurationError } from './configuration-error';
export { providerVariable, type Env } from './env-schema';
export type { ProviderCatalog } from './provider-catalog';
export { CATEGORY_NAME, SAGA_EVENTS_WHEN, type SagaEventsWhen, type ServiceConfig } from './service-config-schema';

export interface AppConfig {
  env: Env;
  service: ServiceConfig;
}

/**
 * How the API authenticates (`apiAuthMode`), its refusal a `ConfigurationError`: the API's boot, `npm run
 * check-config`.
 */
export function requireApiAuthMode(env: Env): ApiAuthMode {
  try {
    return apiAuthMode(env);
  } catch (error) {
    throw new ConfigurationError((error as Error).message);
  }
}

/**
 * The configuration of a service sending through the providers of `catalog` (providers/service-configuration.ts
 * composes it with the registry's), validated once, at boot:
 * - `envSchema`, `serviceConfigSchema`: the environment variables and the JSON service configuration;
 * - `profileDefaults`: what each `MESSAGING_PROFILE` fills in, the general settings and the providers' (by variable);
 * - `parseEnvironment`, `parseServiceConfig`, `loadConfig`: the checks, throwing a `ConfigurationError` that names
 *   every offending variable or JSON path.
 */
export function configurationFor(catalog: ProviderCatalog) {
  const envSchema = envSchemaFor(catalog);
  const serviceConfigSchema = serviceConfigSchemaFor(catalog);
  const profileDefaults = Object.fromEntries(
    PROFILES.map((profile) => [profile, { ...catalog.profileDefaults[profile], ...PROFILE_DEFAULTS[profile] }]),
  ) as Record<Profile, Readonly<Record<string, string>>>;

  /** Parses the service JSON configuration from a string; exported for tests and the dev script. */
  function parseServiceConfig(json: string, source: string): ServiceConfig {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (error) {
      throw new ConfigurationError(`${source} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = serviceConfigSchema.safeParse(raw);
    if (!parsed.success)
      throw new ConfigurationError(
        `invalid configuration ${describeIssues(parsed.error.issues, { prefix: `${source} `, root: '(root)' })}`,
      );
    return parsed.data;
  }

  /**
   * Validates environment variables, then fills in the settings left unset with `MESSAGING_PROFILE`'s
   * (`profileDefaults`); empty strings count as unset.
   */
  function parseEnvironment(environment: Record<string, string | undefined>): Env {
    const present = Object.fromEntries(
      Object.entries(environment).filter(([, value]) => value !== '' && value !== undefined),
    );
    const parsed = envSchema.safeParse(present);
    if (!parsed.success)
      throw new ConfigurationError(`invalid environment ${describeIssues(parsed.error.issues, { root: '(root)' })}`);
    const env = parsed.data as unknown as Env;
    return { ...profileDefaults[env.MESSAGING_PROFILE], ...env };
  }

  /**
   * Validates the environment and the JSON configuration once, at boot. Empty strings count as unset, so
   * `FILE_SERVICE_URL=` in a shell disables the Files Service instead of failing URL validation.
   */
  function loadConfig(environment: NodeJS.ProcessEnv = process.env): AppConfig {
    // The environment and the file are both checked, so that a refusal names the problems of both.
    const problems: string[] = [];
    const refused = (error: unknown) => {
      if (!(error instanceof ConfigurationError)) throw error;
      problems.push(...error.problems);
    };
    let env: Env | undefined;
    try {
      env = parseEnvironment(environment);
    } catch (error) {
      refused(error);
    }
    const configPath = path.resolve(
      env?.CONFIGURATION_PATH ?? (environment.CONFIGURATION_PATH || DEFAULT_CONFIGURATION_PATH),
    );
    let service: ServiceConfig | undefined;
    try {
      service = parseServiceConfig(readConfigurationFile(configPath), 'CONFIGURATION_PATH');
    } catch (error) {
      refused(error);
    }
    if (!env || !service) throw new ConfigurationError(problems);
    return { env, service };
  }

  return { envSchema, serviceConfigSchema, profileDefaults, parseEnvironment, parseServiceConfig, loadConfig };
}

function readConfigurationFile(configPath: string): string {
  try {
    return readFileSync(configPath, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`CONFIGURATION_PATH ${configPath} cannot be read: ${(error as Error).message}`);
  }
}

/** Where the Flow Manager's events go: `FLOW_MANAGER_URL` wins over the JSON `serviceUrl`. */
export function flowManagerUrl(config: AppConfig): string | undefined {
  return config.env.FLOW_MANAGER_URL ?? config.service.flowManagerConfiguration?.serviceUrl;
}
