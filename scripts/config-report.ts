import { checkChannelProviders } from '../activities/providers';
import { checkEvery, requireApiAuthMode, type AppConfig } from '../common/config/config';
import { envSchema, loadConfig, profileDefaults } from '../providers/service-configuration';
import { encryptionCodec } from '../common/temporal/data-converter';

/** What a secret is printed as. */
export const HIDDEN = '***';

/** Variables whose whole value is a secret: auth tokens, API keys, passwords. */
const SECRET_NAME = /(TOKEN|API_KEYS?|PASSWORD|SECRET|PRIVATE_KEY)$/i;
/**
 * `scheme://user:password@`: the password goes, the user stays (it says which account is used). Up to the last `@`
 * of the authority, so that a password with an unescaped `@` goes whole.
 */
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#:]*):[^/?#]*@/i;

/** Lists of `id:base64key` AES keys: printed with their ids only. */
const KEY_LISTS = new Set(['TEMPORAL_CODEC_KEYS', 'PROVIDER_CREDENTIALS_KEYS']);

/**
 * A setting as it may be printed: a secret's value (`*_TOKEN`, `*_API_KEY`, `API_KEYS`, `*_SECRET`, a PEM private key)
 * as `***`, the AES key lists (`TEMPORAL_CODEC_KEYS`, `PROVIDER_CREDENTIALS_KEYS`) with their ids only
 * (`k2:***,k1:***`: which key encrypts shows, no key does), a URL's password as `***`; anything else as it is.
 */
export function redactSetting(name: string, value: string): string {
  if (KEY_LISTS.has(name))
    return value
      .split(',')
      .map((entry) => `${entry.includes(':') ? entry.slice(0, entry.indexOf(':')).trim() : ''}:${HIDDEN}`)
      .join(',');
  if (SECRET_NAME.test(name) || value.includes('-----BEGIN')) return HIDDEN;
  return value.replace(URL_PASSWORD, `$1:${HIDDEN}@`);
}

/**
 * Every string of a JSON value with its URL password or PEM key redacted. By value only: a key's name says nothing
 * here (`userFields.deviceToken` names a field, it holds no token).
 */
function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return redactSetting('', value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactJson(item)]));
  return value;
}

/** Where an effective variable comes from. */
function sourceOf(name: string, environment: NodeJS.ProcessEnv, config: AppConfig): string {
  const set = environment[name];
  if (set !== undefined && set !== '') return 'set';
  const profile = config.env.MESSAGING_PROFILE;
  if (Object.hasOwn(profileDefaults[profile], name)) return `${profile} profile`;
  return config.env[name as keyof AppConfig['env']] === undefined ? 'unset' : 'default';
}

/**
 * The effective configuration as `npm run check-config` prints it: each environment variable of `envSchema` with its
 * value after defaults and `MESSAGING_PROFILE` and where that comes from, then the JSON configuration with its
 * defaults and aliases applied; secrets redacted (`redactSetting`).
 */
export function describeEffectiveConfig(environment: NodeJS.ProcessEnv, config: AppConfig): string {
  const rows = Object.keys(envSchema.shape).map((name) => {
    const value: unknown = config.env[name as keyof AppConfig['env']];
    const printed =
      value === undefined ? '-' : redactSetting(name, Array.isArray(value) ? value.join(',') : `${value}`);
    return [name, printed, sourceOf(name, environment, config)];
  });
  const width = (column: number) => Math.max(...rows.map((row) => row[column].length));
  return [
    `Environment (MESSAGING_PROFILE=${config.env.MESSAGING_PROFILE}; secrets as ${HIDDEN}):`,
    ...rows.map(([name, value, source]) => `  ${name.padEnd(width(0))}  ${value.padEnd(width(1))}  ${source}`),
    '',
    `Configuration file ${config.env.CONFIGURATION_PATH}, with its defaults:`,
    JSON.stringify(redactJson(config.service), null, 2),
  ].join('\n');
}

/**
 * What the API and the worker check at boot, in one go, without connecting to anything: the environment and the JSON
 * configuration (`loadConfig`), then the providers of the active channels and FCM's service account
 * (`checkChannelProviders`). Resolves to `describeEffectiveConfig`'s report; throws the boot's `ConfigurationError`.
 */
export async function checkConfiguration(environment: NodeJS.ProcessEnv): Promise<string> {
  const config = loadConfig(environment);
  // Every check runs, so that the refusal names all there is to fix: the API stops at boot without API_KEYS outside
  // the development profile (docs/configuration.md "API keys"), both processes without the payload codec's keys
  // (docs/operations.md "Encryption of workflow data"), the worker without its providers' settings.
  await checkEvery([
    () => requireApiAuthMode(config.env),
    () => encryptionCodec(config.env),
    () => checkChannelProviders(config),
  ]);
  return describeEffectiveConfig(environment, config);
}
