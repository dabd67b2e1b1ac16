import { PermanentProviderError, TransientProviderError } from '../common/domain/http-errors';
import { formBody, joinUrl, type ProviderHttpClient } from './http-client';
import type { InfobipSettings } from './infobip-provider';

/** Infobip's error JSON: `{ requestError: { serviceException: { messageId, text } } }`. */
export const readInfobipError = (body: unknown) => {
  const error = (body as { requestError?: { serviceException?: { messageId?: string; text?: string } } })?.requestError
    ?.serviceException;
  return { code: error?.messageId ? `INFOBIP_${error.messageId}` : undefined, detail: error?.text };
};

/** Refresh a little before Infobip's expiry so no request goes out with a token that dies in flight. */
const EXPIRY_MARGIN_MS = 60_000;

/** The settings' two authentications, resolved: which one the schema accepted. */
type InfobipAuth = { kind: 'apiKey'; apiKey: string } | { kind: 'oauth'; clientId: string; clientSecret: string };

function authOf(settings: InfobipSettings): InfobipAuth {
  if (settings.clientId && settings.clientSecret) {
    return { kind: 'oauth', clientId: settings.clientId, clientSecret: settings.clientSecret };
  }
  return { kind: 'apiKey', apiKey: settings.apiKey ?? '' };
}

/** A refusal of our credentials (an expired or revoked token), not of the message. */
const isUnauthorized = (error: unknown) =>
  error instanceof PermanentProviderError && /(_UNAUTHORIZED|_401|HTTP_401)$/.test(error.code);

/**
 * The `Authorization` of Infobip's API, as the settings say: `App <apiKey>`, or an OAuth 2.0 client-credentials token
 * (`POST {base}/auth/1/oauth2/token`) sent as `Bearer <token>`, cached until shortly before it expires and fetched
 * again, once, when the API answers 401 (revoked or expired early).
 */
export class InfobipAuthorization {
  private readonly auth: InfobipAuth;
  private token?: { value: string; expiresAt: number };
  private pendingToken?: Promise<string>;

  constructor(
    private readonly http: ProviderHttpClient,
    private readonly baseUrl: string,
    settings: InfobipSettings,
  ) {
    this.auth = authOf(settings);
  }

  /** Calls `send` with the authorization; a token refused before its announced expiry is replaced for one more try. */
  async authorized<T>(send: (authorization: string) => Promise<T>): Promise<T> {
    // A refused token request is not retried here: its credentials are what is wrong.
    const authorization = await this.authorization();
    try {
      return await send(authorization);
    } catch (error) {
      if (this.auth.kind !== 'oauth' || !isUnauthorized(error)) throw error;
      // The token died before its announced expiry: one new token, one more try.
      if (this.token?.value === authorization.slice('Bearer '.length)) this.token = undefined;
      return send(await this.authorization());
    }
  }

  private async fetchToken(clientId: string, clientSecret: string): Promise<string> {
    const response = await this.http.call(
      'infobip-oauth',
      joinUrl(this.baseUrl, '/auth/1/oauth2/token'),
      {
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: formBody({ client_id: clientId, client_secret: clientSecret, grant_type: 'client_credentials' }),
      },
      readInfobipError,
    );
    const json = response.json<{ access_token?: string; expires_in?: number }>();
    if (!json?.access_token) {
      throw new TransientProviderError('Infobip token endpoint returned no access_token', 'INFOBIP_TOKEN');
    }
    const lifetimeMs = (json.expires_in ?? 3600) * 1000;
    this.token = {
      value: json.access_token,
      expiresAt: Date.now() + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2),
    };
    return json.access_token;
  }

  /** `App <key>`, or `Bearer <token>` with one token request at a time however many messages wait for it. */
  private async authorization(): Promise<string> {
    const auth = this.auth;
    if (auth.kind === 'apiKey') return `App ${auth.apiKey}`;
    if (this.token && this.token.expiresAt > Date.now()) return `Bearer ${this.token.value}`;
    this.pendingToken ??= this.fetchToken(auth.clientId, auth.clientSecret).finally(
      () => (this.pendingToken = undefined),
    );
    return `Bearer ${await this.pendingToken}`;
  }
}
