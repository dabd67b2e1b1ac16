/** One setting a provider refuses: `setting` is its field (`authToken`), empty for the settings as a whole. */
export interface SettingIssue {
  setting: string;
  message: string;
}

/**
 * Settings that fail their provider's schema or cannot be used (an FCM key file that does not parse), or a provider
 * type nobody knows. Raised when the provider is built: at the worker's boot for the configured ones.
 */
export class ProviderSettingsError extends Error {
  override name = 'ProviderSettingsError';
  constructor(
    message: string,
    /** The `providerType` of the refused spec, as given. */
    readonly providerType: string,
    /** Each refused setting, so that a caller can name where it came from (`providerSettingsFromConfig`). */
    readonly issues: readonly SettingIssue[] = [],
  ) {
    super(message);
  }

  /** `<type> settings: <setting>: <message>; ...` for each issue. */
  static of(providerType: string, issues: readonly SettingIssue[]): ProviderSettingsError {
    const described = issues.map(({ setting, message }) => `${setting || '(settings)'}: ${message}`);
    return new ProviderSettingsError(`${providerType} settings: ${described.join('; ')}`, providerType, issues);
  }
}
