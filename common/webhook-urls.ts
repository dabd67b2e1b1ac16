import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Env } from './config';

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
