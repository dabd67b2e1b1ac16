import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PermanentProviderError, TransientProviderError } from '../../common/errors';
import type { ProviderReceipt, PushMessage, PushProvider } from './channel-interfaces';
import { formBody, joinUrl, type ProviderHttpClient } from './http-client';
import { httpProviderSettingsSchema } from './http-settings';

/**
 * What a Firebase project needs; from `FCM_*` today (see `providerSettingsFromConfig`). `baseUrl` is the base of
 * the FCM HTTP v1 API: `https://fcm.googleapis.com` in production, the simulator locally.
 */
export const fcmSettingsSchema = httpProviderSettingsSchema.extend({
  /** OAuth token endpoint the signed JWT is exchanged at, `https://oauth2.googleapis.com/token` in production. */
  tokenUrl: z.url(),
  /** Firebase project id, in `/v1/projects/{projectId}/messages:send`. */
  projectId: z.string().min(1),
  /** Path of the service-account JSON key (`client_email`, `private_key`), read at the first push. */
  credentialsPath: z.string().min(1),
});
export type FcmSettings = z.infer<typeof fcmSettingsSchema>;

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Refresh a little before Google's expiry so no request goes out with a token that dies in flight. */
const EXPIRY_MARGIN_MS = 60_000;

interface ServiceAccount {
  client_email: string;
  private_key: string;
}

/** FCM v1 errors carry the precise cause in `details[].errorCode` (UNREGISTERED, INVALID_ARGUMENT, ...). */
export const readFcmError = (body: unknown) => {
  const error = (body as { error?: { status?: string; message?: string; details?: { errorCode?: string }[] } })?.error;
  const code = error?.details?.find((detail) => detail.errorCode)?.errorCode ?? error?.status;
  return { code: code ? `FCM_${code}` : undefined, detail: error?.message };
};

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * Push through FCM HTTP v1 with a service account: a self-signed JWT is exchanged for an OAuth access token
 * at `tokenUrl` (Google's token endpoint in production), cached until shortly before it expires.
 */
export class FcmProvider implements PushProvider {
  private token?: { value: string; expiresAt: number };
  private pendingToken?: Promise<string>;
  private account?: ServiceAccount;

  constructor(
    private readonly http: ProviderHttpClient,
    private readonly settings: FcmSettings,
  ) {}

  private serviceAccount(): ServiceAccount {
    if (this.account) return this.account;
    let parsed: Partial<ServiceAccount>;
    try {
      parsed = JSON.parse(readFileSync(this.settings.credentialsPath, 'utf8')) as Partial<ServiceAccount>;
    } catch (error) {
      throw new PermanentProviderError(
        `FCM_CREDENTIALS_PATH ${this.settings.credentialsPath} cannot be read: ${(error as Error).message}`,
        'FCM_CREDENTIALS',
      );
    }
    if (!parsed.client_email || !parsed.private_key) {
      throw new PermanentProviderError('FCM service account lacks client_email or private_key', 'FCM_CREDENTIALS');
    }
    this.account = parsed as ServiceAccount;
    return this.account;
  }

  private signedAssertion(account: ServiceAccount): string {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = base64url(
      JSON.stringify({
        iss: account.client_email,
        scope: FCM_SCOPE,
        aud: this.settings.tokenUrl,
        iat: now,
        exp: now + 3600,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(account.private_key);
    return `${header}.${claims}.${base64url(signature)}`;
  }

  private async fetchToken(): Promise<string> {
    const response = await this.http.call('fcm-oauth', this.settings.tokenUrl, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: this.signedAssertion(this.serviceAccount()),
      }),
    });
    const json = response.json<{ access_token?: string; expires_in?: number }>();
    if (!json?.access_token)
      throw new TransientProviderError('FCM token endpoint returned no access_token', 'FCM_TOKEN');
    this.token = {
      value: json.access_token,
      expiresAt: Date.now() + (json.expires_in ?? 3600) * 1000 - EXPIRY_MARGIN_MS,
    };
    return json.access_token;
  }

  /** One token request at a time, however many pushes are waiting for it. */
  private accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now()) return Promise.resolve(this.token.value);
    this.pendingToken ??= this.fetchToken().finally(() => (this.pendingToken = undefined));
    return this.pendingToken;
  }

  async sendPush(message: PushMessage): Promise<ProviderReceipt> {
    const { android, apns, ...data } = message.pushData ?? {};
    const stringData = Object.fromEntries(
      Object.entries({ ...data, ...(message.subtitle ? { subtitle: message.subtitle } : {}) }).map(([key, value]) => [
        key,
        typeof value === 'string' ? value : JSON.stringify(value),
      ]),
    );
    const androidBlock = { ...((android as Record<string, unknown>) ?? {}) };
    if (message.androidIntentAction) {
      androidBlock.notification = {
        ...((androidBlock.notification as Record<string, unknown>) ?? {}),
        click_action: message.androidIntentAction,
      };
    }
    const payload = {
      message: {
        token: message.token,
        notification: { title: message.title, body: message.body },
        ...(Object.keys(stringData).length > 0 ? { data: stringData } : {}),
        ...(Object.keys(androidBlock).length > 0 ? { android: androidBlock } : {}),
        ...(apns ? { apns } : {}),
      },
    };
    const url = joinUrl(
      this.settings.baseUrl,
      `/v1/projects/${encodeURIComponent(this.settings.projectId)}/messages:send`,
    );
    try {
      const response = await this.http.call(
        'fcm',
        url,
        {
          headers: { authorization: `Bearer ${await this.accessToken()}`, 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        },
        readFcmError,
      );
      return { providerMessageId: response.json<{ name?: string }>()?.name };
    } catch (error) {
      // A revoked or expired token is ours to renew, not the recipient's fault: drop it and retry.
      if (error instanceof PermanentProviderError && /UNAUTHENTICATED|HTTP_401/.test(error.code)) {
        this.token = undefined;
        throw new TransientProviderError(error.message, error.code);
      }
      throw error;
    }
  }
}
