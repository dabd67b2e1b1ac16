import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import { parseApiKeys, SCOPES, type ApiKey, type Scope } from '../../common/config/api-keys';
import { requireApiAuthMode } from '../../common/config/config';
import { HttpError } from '../../common/domain/http-errors';
import { errorResponses } from '../schemas/common-schemas';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The scope an API key needs for this route when `API_KEYS` is set: `config: { scope: 'read' }`. A route that
     * names none needs `admin`, so a route nobody thought about is not open to every key. The routes of the `send`
     * scope also share the per-key rate limit (api/plugins/rate-limit-plugin.ts).
     */
    scope?: Scope;
    /** Why else the route answers 403 to a key of an application (`requestApp`), for its documentation. */
    appForbidden?: string;
  }
  interface FastifyRequest {
    /** The API key the request came with, once checked; null without `API_KEYS` and on the public routes. */
    apiKey: AuthenticatedKey | null;
  }
}

/**
 * A key a request presented and that `API_KEYS` holds: an id that is not the key (for rate limits), its scopes and
 * its application.
 */
export interface AuthenticatedKey {
  /** The start of the key's SHA-256, hex: names the key in counters without holding it. */
  id: string;
  scopes: readonly Scope[];
  /** The application the key belongs to (`<key>:<scopes>@<appId>`); null for a key of none. */
  appId: string | null;
}

/** The scope of a route that names none. */
export const DEFAULT_SCOPE: Scope = 'admin';

/**
 * Paths that answer without an API key: health and metrics (`/-/`) for probes, the index (`/`) and the documentation
 * for people, the providers' webhooks, which prove themselves by the token in their URL (api/routes/webhooks/), and
 * the unsubscribe links of emails, whose token proves itself (api/routes/unsubscribe-routes.ts).
 */
const PUBLIC_PREFIXES = ['/-/', '/documentation', '/webhooks/', '/unsubscribe/'];

export const isPublicPath = (url: string): boolean =>
  url === '/' || url.startsWith('/?') || PUBLIC_PREFIXES.some((prefix) => url.startsWith(prefix));

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * The entry of `keys` a presented key is, in a time that tells nothing about the keys: digests of equal length
 * compared with `timingSafeEqual`, and every key compared.
 */
function keyMatcher(keys: ApiKey[]): (presented: string) => AuthenticatedKey | undefined {
  const known = keys.map(({ key, scopes, appId }) => {
    const digest = sha256(key);
    return { digest, key: { id: digest.toString('hex').slice(0, 16), scopes, appId: appId ?? null } };
  });
  return (presented) => {
    const digest = sha256(presented);
    return known.reduce<AuthenticatedKey | undefined>(
      (found, candidate) => (timingSafeEqual(candidate.digest, digest) ? candidate.key : found),
      undefined,
    );
  };
}

/**
 * Whether the request may see what `scope` guards within a route it was let into (the inbound webhook URLs of
 * `GET /providers` for `providers`): true when no key is checked (`API_AUTH=none`, the development profile).
 */
export const requestHasScope = (request: { apiKey: AuthenticatedKey | null }, scope: Scope): boolean =>
  request.apiKey === null || request.apiKey.scopes.includes(scope);

/**
 * The application a request speaks for: its key's, unless the key holds `admin` (an operator, whom no application's
 * rules bind); null without one or when no key is checked.
 */
export const requestApp = (request: { apiKey: AuthenticatedKey | null }): string | null =>
  request.apiKey === null || request.apiKey.scopes.includes('admin') ? null : request.apiKey.appId;

/**
 * With `API_KEYS` set, every route but the public ones wants `Authorization: Bearer <key>` and answers 401 without a
 * valid one, 403 when the key lacks the route's scope (`config.scope`, docs/configuration.md); documented routes
 * registered after it declare both. Without keys the API does not boot outside the development profile, unless
 * `API_AUTH=none` says a gateway in front authenticates (`apiAuthMode`); then routes are open.
 */
export const authPlugin = fp(
  async (app) => {
    app.decorateRequest('apiKey', null);
    app.addHook('onRoute', (route) => {
      const scope = route.config?.scope;
      if (scope !== undefined && !SCOPES.includes(scope))
        throw new Error(`${route.method} ${route.url}: scope "${String(scope)}" is not one of ${SCOPES.join(', ')}`);
    });
    const mode = requireApiAuthMode(app.config.env);
    if (mode === 'none')
      app.log.warn(
        'API_AUTH=none: no API key is checked, every route answers whoever reaches this API; a gateway in front must authenticate every request',
      );
    if (mode !== 'keys') return;
    const keys = parseApiKeys(app.config.env.API_KEYS);
    const authenticate = keyMatcher(keys);
    app.addHook('onRequest', async (request) => {
      // A browser's CORS preflight never carries credentials (the Temporal UI's to /codec, api/routes/codec-routes.ts).
      if (isPublicPath(request.url) || request.method === 'OPTIONS') return;
      const presented = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const key = presented === undefined ? undefined : authenticate(presented);
      if (!key) throw new HttpError(401, 'authorization: a valid "Bearer <API key>" is required');
      request.apiKey = key;
      // An unknown route answers its 404 to any valid key.
      if (request.is404) return;
      const scope = request.routeOptions.config.scope ?? DEFAULT_SCOPE;
      if (!key.scopes.includes(scope))
        throw new HttpError(403, `authorization: this API key lacks the "${scope}" scope this route needs`);
    });
    app.addHook('onRoute', (route) => {
      if (isPublicPath(route.url) || !route.schema?.response) return;
      const scope = route.config?.scope ?? DEFAULT_SCOPE;
      const appForbidden = route.config?.appForbidden;
      const denied = errorResponses({
        401: 'No valid "Authorization: Bearer <API key>"',
        403: `The API key lacks the "${scope}" scope${appForbidden ? `, or ${appForbidden}` : ''}`,
      });
      route.schema = { ...route.schema, response: { ...denied, ...(route.schema.response as object) } };
    });
  },
  { name: 'auth', dependencies: ['config'] },
);
