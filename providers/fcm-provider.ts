import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PermanentProviderError, TransientProviderError } from '../common/domain/http-errors';
import type { ProviderReceipt, PushMessage, PushProvider } from './channel-interfaces';
import { formBody, joinUrl, type ProviderHttpClient } from './http-client';
import {
  ALWAYS,
  defineProvider,
  httpProviderSettingsSchema,
  nonEmpty,
  ProviderSettingsError,
  SIMULATOR_URL,
} from './provider-module';

/** A Google service-account JSON key, as Firebase's console downloads it; other keys of the file are kept. */
export const serviceAccountKeySchema = z.looseObject({
  client_email: nonEmpty,
  private_key: nonEmpty,
});

/**
 * What a Firebase project needs; from `FCM_*` in configuration. `baseUrl` is the base of the FCM HTTP v1 API:
 * `https://fcm.googleapis.com` in production, the simulator locally. The service account is either a file
 * (`credentialsPath`, configuration) or the key itself (`serviceAccount`, the registry), not both.
 */
export const fcmSettingsSchema = httpProviderSettingsSchema
  .extend({
    /** OAuth token endpoint the signed JWT is exchanged at, `https://oauth2.googleapis.com/token` in production. */
    tokenUrl: z.url(),
    /** Firebase project id, in `/v1/projects/{projectId}/messages:send`. */
    projectId: nonEmpty,
    /** Path of the service-account JSON key (`client_email`, `private_key`), read when the provider is built. */
    credentialsPath: nonEmpty.optional(),
    /** The service-account JSON key itself. */
    serviceAccount: serviceAccountKeySchema.optional(),
  })
  .superRefine((settings, context) => {
    if (settings.credentialsPath !== undefined && settings.serviceAccount !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['serviceAccount'],
        message: 'give credentialsPath or serviceAccount, not both',
      });
    } else if (settings.credentialsPath === undefined && settings.serviceAccount === undefined) {
      context.addIssue({ code: 'custom', path: ['credentialsPath'], message: 'required (or serviceAccount)' });
    }
  }, ALWAYS)
  .describe('{baseUrl, tokenUrl, projectId, serviceAccount}');
export type FcmSettings = z.infer<typeof fcmSettingsSchema>;

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Refresh a little before Google's expiry so no request goes out with a token that dies in flight. */
const EXPIRY_MARGIN_MS = 60_000;

/** What the JWT is signed with: the service account's `client_email` and its parsed `private_key`. */
export interface ServiceAccount {
  clientEmail: string;
  privateKey: KeyObject;
}

/**
 * Reads and checks the service-account JSON key at `credentialsPath`: `client_email` and a `private_key` that parses
 * as a PEM private key. Called when the provider is built, that is at the worker's boot: a key that cannot sign
 * stops the boot instead of failing every push.
 */
export function readServiceAccount(credentialsPath: string): ServiceAccount {
  const refuse = (problem: string) =>
    ProviderSettingsError.of('fcm', [{ setting: 'credentialsPath', message: `${credentialsPath} ${problem}` }]);
  let text: string;
  try {
    text = readFileSync(credentialsPath, 'utf8');
  } catch (error) {
    throw refuse(`cannot be read: ${(error as Error).message}`);
  }
  let account: unknown;
  try {
    account = JSON.parse(text);
  } catch (error) {
    throw refuse(`is not a service-account JSON key: ${(error as Error).message}`);
  }
  return serviceAccountFrom(account, refuse);
}

/**
 * Checks a service-account key given as settings (`serviceAccount`, a registered provider's credentials) or read
 * from a file: `client_email` and a `private_key` that parses as a PEM private key.
 */
export function serviceAccountFrom(
  account: unknown,
  refuse = (problem: string) => ProviderSettingsError.of('fcm', [{ setting: 'serviceAccount', message: problem }]),
): ServiceAccount {
  const key = account as { client_email?: unknown; private_key?: unknown } | null;
  if (typeof key?.client_email !== 'string' || key.client_email === '') throw refuse('has no client_email');
  if (typeof key.private_key !== 'string' || key.private_key === '') throw refuse('has no private_key');
  try {
    return { clientEmail: key.client_email, privateKey: createPrivateKey(key.private_key) };
  } catch (error) {
    // The key itself stays out of the message: it is a secret.
    throw refuse(`has a private_key that is not a PEM private key (${(error as Error).message})`);
  }
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
  private readonly account: ServiceAccount;

  /**
   * Reads the service account (`readServiceAccount`, or the key given as `serviceAccount`): a
   * `ProviderSettingsError` when it cannot be used.
   */
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly settings: FcmSettings,
  ) {
    this.account = settings.serviceAccount
      ? serviceAccountFrom(settings.serviceAccount)
      : readServiceAccount(settings.credentialsPath ?? '');
  }

  private signedAssertion(account: ServiceAccount): string {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = base64url(
      JSON.stringify({
        iss: account.clientEmail,
        scope: FCM_SCOPE,
        aud: this.settings.tokenUrl,
        iat: now,
        exp: now + 3600,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(account.privateKey);
    return `${header}.${claims}.${base64url(signature)}`;
  }

  private async fetchToken(): Promise<string> {
    const response = await this.http.call('fcm-oauth', this.settings.tokenUrl, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: this.signedAssertion(this.account),
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

export const fcmProvider = defineProvider({
  type: 'fcm',
  channels: ['push'],
  settingsSchema: fcmSettingsSchema,
  environment: {
    baseUrl: 'FCM_BASE_URL',
    tokenUrl: 'FCM_TOKEN_URL',
    projectId: 'FCM_PROJECT_ID',
    credentialsPath: 'FCM_CREDENTIALS_PATH',
  },
  defaultFor: ['push'],
  profileDefaults: {
    production: { baseUrl: 'https://fcm.googleapis.com', tokenUrl: 'https://oauth2.googleapis.com/token' },
    development: {
      baseUrl: SIMULATOR_URL,
      tokenUrl: `${SIMULATOR_URL}/token`,
      projectId: 'simulator-project',
      // Where `npm run dev` writes the simulator's throwaway key (`ensureFcmServiceAccount`) with DEV_DATA_DIR unset.
      credentialsPath: '.data/fcm-service-account.json',
    },
  },
  urlSettings: ['baseUrl', 'tokenUrl'],
  publicHosts: ['fcm.googleapis.com', 'oauth2.googleapis.com'],
  errorReader: { answerBody: readFcmError },
  build: (settings, { http }) => new FcmProvider(http, settings),
});
