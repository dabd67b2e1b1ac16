import { isProviderType, PROVIDERS, type ProviderType } from './provider-registry';

/**
 * What a registered provider (`/providers`) may point the worker at (docs/os1-messaging.md). Its credentials
 * come from API callers, and the worker holds every secret of the service, so they may name neither a local file
 * (`credentialsPath`: the worker would read it and sign with it) nor an `endpoint` of their own (an AWS client signed
 * with the service's keys, sent anywhere), and, outside the development profile, their URLs name only the hosts of
 * the provider type: the worker must not be a way into this network, nor send a message to a host that only looks
 * like the provider. Configured providers (environment variables) are trusted as configuration is.
 */

/** Settings a registered provider may not set: configuration only. */
export const CONFIGURATION_ONLY_SETTINGS = ['credentialsPath', 'endpoint'] as const;

/** One refused setting: `field` as the request names it under `credentials`. */
export interface RegisteredSettingProblem {
  field: string;
  message: string;
}

export interface RegisteredProviderPolicyOptions {
  /** The development profile (the simulator on this machine) takes any host. */
  anyHost: boolean;
  /** Hosts the configuration adds per type (`registeredProviders.allowedHosts`), in the same patterns. */
  extraHosts?: Partial<Record<ProviderType, readonly string[]>>;
}

/** Whether `host` (lower case, no port) matches a pattern: the name itself, or `*.domain` for a host under it. */
export function hostMatches(host: string, pattern: string): boolean {
  const wanted = pattern.toLowerCase();
  if (wanted.startsWith('*.')) return host.endsWith(wanted.slice(1)) && host.length > wanted.length - 1;
  return host === wanted;
}

/**
 * The problems of a registered provider's settings, none when it may be used: a configuration-only setting given,
 * or a URL whose host is not one of its type's (unless `anyHost`). Checked by the API when it stores the settings
 * and by the worker before it builds the provider (a document stored before these rules is refused there).
 */
export function registeredSettingsProblems(
  providerType: ProviderType,
  settings: Record<string, unknown>,
  options: RegisteredProviderPolicyOptions,
): RegisteredSettingProblem[] {
  const problems: RegisteredSettingProblem[] = [];
  for (const field of CONFIGURATION_ONLY_SETTINGS) {
    if (settings[field] !== undefined)
      problems.push({ field, message: 'may be set in the configuration only, not for a registered provider' });
  }
  if (options.anyHost) return problems;
  const module = isProviderType(providerType) ? PROVIDERS[providerType] : undefined;
  const allowed = [...(module?.publicHosts ?? []), ...(options.extraHosts?.[providerType] ?? [])];
  for (const field of (module?.urlSettings ?? []) as readonly string[]) {
    const value = settings[field];
    if (typeof value !== 'string') continue;
    let host: string;
    try {
      host = new URL(value).hostname.toLowerCase();
    } catch {
      continue; // The type's schema names a malformed URL.
    }
    if (!allowed.some((pattern) => hostMatches(host, pattern))) {
      const known = allowed.length > 0 ? `one of ${allowed.join(', ')}` : 'a host added by the configuration';
      problems.push({
        field,
        message: `${host} is not a ${providerType} host: must be ${known} (registeredProviders.allowedHosts adds hosts)`,
      });
    }
  }
  return problems;
}
