import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Env } from './config';
import { ForbiddenUrlError, type OutgoingHttpClient } from './outgoing-http';

/**
 * The secrets of the webhooks both ways (README "OS1-style messaging"), all derived from `WEBHOOK_SECRET`:
 * - incoming: a provider is handed a URL and nothing else, so the URL carries the proof: `?token=<HMAC of its path>`,
 *   which only this service can compute and which `verifyWebhookToken` checks in constant time;
 * - outgoing: each callback is signed with the calling API key's own secret (`callbackSecret`), `X-Signature:
 *   sha256=<hex of HMAC-SHA256(secret, timestamp + "." + rawBody)>` with `X-Timestamp`.
 */

type WebhookEnv = Pick<Env, 'WEBHOOK_SECRET' | 'PUBLIC_BASE_URL' | 'HTTP_PORT'>;

/** Thrown where a secret is needed and `WEBHOOK_SECRET` is unset: the caller answers 503 naming it. */
export class MissingWebhookSecretError extends Error {
  override name = 'MissingWebhookSecretError';
  constructor() {
    super('WEBHOOK_SECRET is not set: this service cannot sign callbacks or hand out provider webhook URLs');
  }
}

function secretOf(env: Pick<Env, 'WEBHOOK_SECRET'>): string {
  if (!env.WEBHOOK_SECRET) throw new MissingWebhookSecretError();
  return env.WEBHOOK_SECRET;
}

const hmacHex = (key: string, text: string): string => createHmac('sha256', key).update(text).digest('hex');

/** Where providers reach this API: `PUBLIC_BASE_URL`, or this host's port for local use. */
export const publicBaseUrl = (env: Pick<Env, 'PUBLIC_BASE_URL' | 'HTTP_PORT'>): string =>
  (env.PUBLIC_BASE_URL ?? `http://localhost:${env.HTTP_PORT}`).replace(/\/+$/, '');

/** The token of one webhook path (`/webhooks/infobip/reports`): 32 hex characters, the same on every instance. */
export const webhookToken = (env: Pick<Env, 'WEBHOOK_SECRET'>, path: string): string =>
  hmacHex(secretOf(env), `webhook:${path}`).slice(0, 32);

/** The absolute URL a provider is given for `path`, its token in the query. */
export function providerWebhookUrl(env: WebhookEnv, path: string): string {
  return `${publicBaseUrl(env)}${path}?token=${webhookToken(env, path)}`;
}

/** Whether `token` is the token of `path`; false (never a throw) without `WEBHOOK_SECRET`. */
export function verifyWebhookToken(env: Pick<Env, 'WEBHOOK_SECRET'>, path: string, token: unknown): boolean {
  if (!env.WEBHOOK_SECRET || typeof token !== 'string') return false;
  const expected = Buffer.from(webhookToken(env, path));
  const presented = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/**
 * The callback signing secret of an API key (its id, `AuthenticatedKey.id`), or of the requests made without keys
 * (`null`, when `API_KEYS` is unset). `GET /callbacks/secret` shows it to its own key.
 */
export const callbackSecret = (env: Pick<Env, 'WEBHOOK_SECRET'>, apiKeyId: string | null): string =>
  hmacHex(secretOf(env), `callback:${apiKeyId ?? 'no-api-keys'}`);

/** `X-Signature` of a callback: `sha256=<hex>` over `timestamp + "." + rawBody`. */
export const callbackSignature = (secret: string, timestamp: string, rawBody: string): string =>
  `sha256=${hmacHex(secret, `${timestamp}.${rawBody}`)}`;

/** How a signed POST ended: `problem` is absent after a 2xx. `forbidden`: the URL may not be called at all. */
export interface SignedPostOutcome {
  httpStatus?: number;
  problem?: string;
  forbidden?: boolean;
}

/**
 * POSTs a JSON body to a URL a caller gave, signed with `secret` (`X-Timestamp`, `X-Signature`): the one way every
 * outgoing webhook of the service is called (callbacks, conversation webhooks, inbound messages). Never throws for
 * the receiver's sake: a non-2xx, a network error or a refused URL is the outcome's `problem`.
 */
export async function postSignedJson(
  http: Pick<OutgoingHttpClient, 'call'>,
  target: { url: string; secret: string },
  body: string,
  userAgent: string,
): Promise<SignedPostOutcome> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  try {
    const response = await http.call(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-timestamp': timestamp,
        'x-signature': callbackSignature(target.secret, timestamp, body),
        'user-agent': userAgent,
      },
      body,
    });
    const ok = response.status >= 200 && response.status < 300;
    return {
      httpStatus: response.status,
      ...(ok ? {} : { problem: `${new URL(target.url).host} answered ${response.status}` }),
    };
  } catch (error) {
    return { problem: (error as Error).message, ...(error instanceof ForbiddenUrlError ? { forbidden: true } : {}) };
  }
}
