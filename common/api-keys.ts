/**
 * What an API key may do (README "Configuration", `API_KEYS`): `send` starts sends, `read` reads sends, users and
 * templates, `admin` writes users and templates (and runs the codec of the Temporal UI). No scope implies another.
 */
export const SCOPES = ['send', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** One entry of `API_KEYS`: the key and what it may do. */
export interface ApiKey {
  key: string;
  scopes: readonly Scope[];
}

const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/**
 * `API_KEYS` entries, `<key>` or `<key>:<scope>+<scope>…`: a bare key has every scope, as before scopes existed.
 * The last `:` of an entry starts its scopes. Throws an `Error` naming the entry by its position, never its text,
 * which holds a secret: an unknown or missing scope, or a key listed twice.
 */
export function parseApiKeys(entries: readonly string[]): ApiKey[] {
  const seen = new Map<string, number>();
  return entries.map((entry, index) => {
    const position = index + 1;
    const colon = entry.lastIndexOf(':');
    const key = (colon < 0 ? entry : entry.slice(0, colon)).trim();
    const scopes =
      colon < 0
        ? [...SCOPES]
        : entry
            .slice(colon + 1)
            .split('+')
            .map((scope) => scope.trim());
    if (!key) throw new Error(`entry ${position} has no key before its ":"`);
    // The text after the ":" is not echoed: it may be part of a key.
    if (!scopes.every(isScope))
      throw new Error(
        `entry ${position}: what follows its last ":" is not scopes (${SCOPES.join(', ')}, joined by "+"); a key that holds a ":" must end with ":<scopes>"`,
      );
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new Error(`entry ${position} repeats the key of entry ${earlier}`);
    seen.set(key, position);
    return { key, scopes: [...new Set(scopes)] };
  });
}
