import { flowManagerUrl, type AppConfig } from '../common/config/config';
import { loadConfig } from '../providers/service-configuration';

/**
 * Which settings `npm run dev` fills in, and with what. The rule: a setting of the user's (an environment
 * variable, or the configuration file's `flowManagerConfiguration.serviceUrl` for the Flow Manager) always wins;
 * the dev stack only fills in what was left unset. Empty values count as unset, as they do for the service.
 * `MESSAGING_PROFILE=development` is one of them: the provider credentials become the simulator's.
 */

/** Where the dev stack's own servers listen; each value is what a setting left unset points at. */
export interface DevStack {
  /** Temporal dev server, `host:port`. */
  temporalAddress: string;
  temporalUiUrl: string;
  /** FerretDB, a `mongodb://` URL with the database. */
  mongoUrl: string;
  simulatorHttpUrl: string;
  simulatorSmtpUrl: string;
  /** The throwaway FCM service account the simulator accepts (written only when this default is used). */
  fcmCredentialsPath: string;
}

/** Where an effective setting comes from. */
export type SettingSource = 'yours' | 'npm run dev' | 'configuration file';

export interface EffectiveSetting {
  name: string;
  value: string;
  source: SettingSource;
}

export interface DevSettings {
  /** The environment of the worker and the API: the user's, plus the dev stack's values for what was unset. */
  env: NodeJS.ProcessEnv;
  /** That environment and the configuration file, validated the way the service validates them. */
  config: AppConfig;
  /** Start the Temporal dev server (TEMPORAL_ADDRESS unset). */
  startTemporal: boolean;
  /** Start FerretDB (MONGODB_URL unset). */
  startFerretDb: boolean;
  /** Every setting the dev stack would fill in, with its effective value and where that comes from. */
  settings: EffectiveSetting[];
}

export const isSet = (value: string | undefined): value is string => value !== undefined && value !== '';

/**
 * Fills in the unset settings of `environment` with the dev stack's, and validates the result with
 * common/config/config.ts. The Flow Manager gets the simulator only when neither `FLOW_MANAGER_URL` nor the
 * configuration file (`CONFIGURATION_PATH`, or config/default.json) names one: `flowManagerUrl` decides, as
 * it does in the worker.
 */
export function resolveDevSettings(environment: NodeJS.ProcessEnv, stack: DevStack): DevSettings {
  const startTemporal = !isSet(environment.TEMPORAL_ADDRESS);
  const startFerretDb = !isSet(environment.MONGODB_URL);
  const defaults: Record<string, string> = {
    // The simulator's credentials, and the simulator for every provider setting not filled in below.
    MESSAGING_PROFILE: 'development',
    // With a Temporal of the user's there is no dev UI to link to: the service's own default stays.
    ...(startTemporal ? { TEMPORAL_ADDRESS: stack.temporalAddress, TEMPORAL_UI_URL: stack.temporalUiUrl } : {}),
    ...(startFerretDb ? { MONGODB_URL: stack.mongoUrl } : {}),
    SMTP_URL: stack.simulatorSmtpUrl,
    TWILIO_BASE_URL: stack.simulatorHttpUrl,
    KALEYRA_BASE_URL: stack.simulatorHttpUrl,
    FCM_BASE_URL: stack.simulatorHttpUrl,
    FCM_TOKEN_URL: `${stack.simulatorHttpUrl}/token`,
    FCM_CREDENTIALS_PATH: stack.fcmCredentialsPath,
    INFOBIP_BASE_URL: stack.simulatorHttpUrl,
    FILE_SERVICE_URL: stack.simulatorHttpUrl,
    // Where `GET /` says the simulator's inbox is.
    SIMULATOR_URL: stack.simulatorHttpUrl,
    // The AWS SDK's own variable, read by the worker's SES and Pinpoint SMS clients of providers registered without
    // an `endpoint`: they reach the simulator, like every configured provider here. AWS_ENDPOINT_URL_<SERVICE>
    // of yours still wins over it, in the SDK.
    AWS_ENDPOINT_URL: stack.simulatorHttpUrl,
  };
  const env: NodeJS.ProcessEnv = { ...environment };
  const settings: EffectiveSetting[] = [];
  for (const [name, fallback] of Object.entries(defaults)) {
    const own = environment[name];
    if (isSet(own)) settings.push({ name, value: own, source: 'yours' });
    else {
      env[name] = fallback;
      settings.push({ name, value: fallback, source: 'npm run dev' });
    }
  }

  let config = loadConfig(env);
  const flowManager = flowManagerUrl(config);
  if (isSet(environment.FLOW_MANAGER_URL)) {
    settings.push({ name: 'FLOW_MANAGER_URL', value: environment.FLOW_MANAGER_URL, source: 'yours' });
  } else if (flowManager !== undefined) {
    settings.push({ name: 'FLOW_MANAGER_URL', value: flowManager, source: 'configuration file' });
  } else {
    env.FLOW_MANAGER_URL = stack.simulatorHttpUrl;
    config = loadConfig(env);
    settings.push({ name: 'FLOW_MANAGER_URL', value: stack.simulatorHttpUrl, source: 'npm run dev' });
  }
  return { env, config, startTemporal, startFerretDb, settings };
}

/** A URL's password as `***`, so that printing the settings shows no secret. */
export function redact(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.href;
  } catch {
    return value;
  }
}

/** The settings as the lines `npm run dev` prints at start. */
export function describeSettings(settings: EffectiveSetting[], configurationPath: string): string[] {
  const nameWidth = Math.max(...settings.map((setting) => setting.name.length));
  const valueWidth = Math.max(...settings.map((setting) => redact(setting.value).length));
  return settings.map(({ name, value, source }) => {
    const from =
      source === 'configuration file'
        ? `unset: flowManagerConfiguration.serviceUrl of ${configurationPath}`
        : source === 'yours'
          ? 'set by you'
          : 'npm run dev';
    return `  ${name.padEnd(nameWidth)}  ${redact(value).padEnd(valueWidth)}  ${from}`;
  });
}
