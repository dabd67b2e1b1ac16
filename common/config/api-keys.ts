/**
 * What an API key may do (docs/configuration.md, `API_KEYS`): `send` starts sends, `read` reads sends, users and
 * templates, `templates` writes templates, `providers` writes the provider registry and sees its inbound webhook URLs
 * (with their tokens), `codec` runs the codec of the Temporal UI, `admin` writes users, reviews notifications and
 * holds `templates`, `providers` and `codec` as well. No other scope implies another.
 */
export const SCOPES = ['send', 'read', 'templates', 'providers', 'codec', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The scopes `admin` holds besides itself. */
const ADMIN_HOLDS: readonly Scope[] = ['templates', 'providers', 'codec'];

/** What a bare key (`<key>` without `:<scopes>`) may do: send and read, nothing that changes the service. */
export const BARE_KEY_SCOPES: readonly Scope[] = ['send', 'read'];

/**
 * The shortest key accepted: 32 characters, e.g. `openssl rand -hex 16`. A shorter key is within reach of guessing
 * online, since every API process answers 401s as fast as it can.
 */
export const MIN_KEY_LENGTH = 32;

/**
 * One entry of `API_KEYS`: the key, what it may do (`admin` already expanded into the scopes it holds) and the
 * application it belongs to, if any.
 */
export interface ApiKey {
  key: string;
  scopes: readonly Scope[];
  /**
   * The application (`<key>:<scopes>@<appId>`) whose notifications the key registers and which, once it has one,
   * sends by notification only; absent for a key of no application.
   */
  appId?: string;
}

/** An application id as `API_KEYS` takes it: what `POST /notifications` takes as `appId`, without spaces or `,`. */
const APP_ID = /^[^\s,@:]{1,200}$/;

const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/**
 * `API_KEYS` entries, `<key>`, `<key>:<scope>+<scope>…` or `<key>:<scope>+<scope>…@<appId>`: a bare key may `send`
 * and `read`, and belongs to no application. The last `:` of an entry starts its scopes, the first `@` after it the
 * application. Throws an `Error` naming the entry by its position, never its text, which holds a secret: an
 * unknown or missing scope, a key shorter than `MIN_KEY_LENGTH`, or a key listed twice.
 */
export function parseApiKeys(entries: readonly string[]): ApiKey[] {
  const seen = new Map<string, number>();
  return entries.map((entry, index) => {
    const position = index + 1;
    const colon = entry.lastIndexOf(':');
    const key = (colon < 0 ? entry : entry.slice(0, colon)).trim();
    const [scopesText, ...app] = colon < 0 ? [] : entry.slice(colon + 1).split('@');
    const scopes = scopesText === undefined ? [...BARE_KEY_SCOPES] : scopesText.split('+').map((scope) => scope.trim());
    const appId = app.length > 0 ? app.join('@').trim() : undefined;
    if (!key) throw new Error(`entry ${position} has no key before its ":"`);
    // The text after the ":" is not echoed: it may be part of a key.
    if (!scopes.every(isScope))
      throw new Error(
        `entry ${position}: what follows its last ":" is not scopes (${SCOPES.join(', ')}, joined by "+"); a key that holds a ":" must end with ":<scopes>"`,
      );
    if (key.length < MIN_KEY_LENGTH)
      throw new Error(
        `entry ${position}: its key is shorter than ${MIN_KEY_LENGTH} characters (generate one with "openssl rand -hex 16")`,
      );
    if (appId !== undefined && !APP_ID.test(appId))
      throw new Error(
        `entry ${position}: what follows its "@" is not an application id (1 to 200 characters, no space, ",", "@" or ":")`,
      );
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new Error(`entry ${position} repeats the key of entry ${earlier}`);
    seen.set(key, position);
    const held = scopes.includes('admin') ? [...scopes, ...ADMIN_HOLDS] : scopes;
    return { key, scopes: SCOPES.filter((scope) => held.includes(scope)), ...(appId !== undefined ? { appId } : {}) };
  });
}

/**
 * How the API authenticates (docs/configuration.md "API keys"): `keys` with `API_KEYS` set; `none` when
 * `API_AUTH=none` says a gateway in front authenticates every request; `open-development` in the development profile
 * without keys. Anything else is refused at boot.
 */
export type ApiAuthMode = 'keys' | 'none' | 'open-development';

/**
 * The API's authentication mode, or an `Error` to stop the boot with: outside the development profile the API does
 * not answer anyone without `API_KEYS`, unless `API_AUTH=none` says so on purpose.
 */
export function apiAuthMode(env: {
  MESSAGING_PROFILE: string;
  API_KEYS: readonly string[];
  API_AUTH?: 'keys' | 'none';
}): ApiAuthMode {
  const hasKeys = env.API_KEYS.length > 0;
  if (env.API_AUTH === 'none') {
    if (hasKeys)
      throw new Error('API_KEYS and API_AUTH=none are both set: unset one (API_AUTH=none means no key is checked)');
    return 'none';
  }
  if (hasKeys) return 'keys';
  if (env.MESSAGING_PROFILE === 'development') return 'open-development';
  throw new Error(
    'API_KEYS: required outside the development profile (key:scope+…, docs/configuration.md); set API_AUTH=none only when a gateway in front authenticates every request',
  );
}
