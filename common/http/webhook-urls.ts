import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Env } from '../config/config';
import { ForbiddenUrlError, type OutgoingHttpClient } from './outgoing-http';

/**
 * The secrets of the webhooks both ways (docs/os1-messaging.md), all derived from `WEBHOOK_SECRET`:
 * - incoming: a provider is handed a URL and nothing else, so the URL carries the proof: `?token=<HMAC of its path>`,
 *   which only this service can compute and which `verifyWebhookToken` checks in constant time. A registered
 *   provider's report URL carries a token of its own (`reportWebhookUrl`), which proves the calls of that provider
 *   only: what it is sent cannot speak for another provider's messages;
 * - outgoing: each callback is signed with the calling API key's own secret (`callbackSecret`), `X-Signature:
 *   sha256=<hex of HMAC-SHA256(secret, timestamp + "." + rawBody)>` with `X-Timestamp`.
 * `WEBHOOK_SECRET` may list several secrets, comma-separated: the first signs and issues tokens, every one verifies,
 * so that a new secret is put first and the old one dropped once the URLs it issued are replaced.
 */

type WebhookEnv = Pick<Env, 'WEBHOOK_SECRET' | 'PUBLIC_BASE_URL' | 'HTTP_PORT'>;

/** Thrown where a secret is needed and `WEBHOOK_SECRET` is unset: the caller answers 503 naming it. */
export class MissingWebhookSecretError extends Error {
  override name = 'MissingWebhookSecretError';
  constructor() {
    super('WEBHOOK_SECRET is not set: this service cannot sign callbacks or hand out provider webhook URLs');
  }
}

/** Every secret of `WEBHOOK_SECRET`, the signing one first; none when unset. */
export const webhookSecrets = (env: Pick<Env, 'WEBHOOK_SECRET'>): string[] =>
  (env.WEBHOOK_SECRET ?? '')
    .split(',')
    .map((secret) => secret.trim())
    .filter(Boolean);

/** The secret that signs and issues tokens: the first of the list. */
function secretOf(env: Pick<Env, 'WEBHOOK_SECRET'>): string {
  const [first] = webhookSecrets(env);
  if (!first) throw new MissingWebhookSecretError();
  return first;
}

const hmacHex = (key: string, text: string): string => createHmac('sha256', key).update(text).digest('hex');

/** Where providers reach this API: `PUBLIC_BASE_URL`, or this host's port for local use. */
export const publicBaseUrl = (env: Pick<Env, 'PUBLIC_BASE_URL' | 'HTTP_PORT'>): string =>
  (env.PUBLIC_BASE_URL ?? `http://localhost:${env.HTTP_PORT}`).replace(/\/+$/, '');

/**
 * What a token proves: a webhook path, and for a registered provider's reports its name (`null`: the configured
 * provider's, whose token is the path's alone, as before tokens were per provider).
 */
const tokenSubject = (path: string, providerName: string | null = null): string =>
  providerName === null ? `webhook:${path}` : `webhook:${path}|provider:${providerName}`;

const tokenWith = (secret: string, subject: string): string => hmacHex(secret, subject).slice(0, 32);

/** The token of one webhook path (`/webhooks/infobip/reports`): 32 hex characters, the same on every instance. */
export const webhookToken = (env: Pick<Env, 'WEBHOOK_SECRET'>, path: string, providerName: string | null = null) =>
  tokenWith(secretOf(env), tokenSubject(path, providerName));

/** The absolute URL a provider is given for `path`, its token in the query. */
export function providerWebhookUrl(env: WebhookEnv, path: string): string {
  return `${publicBaseUrl(env)}${path}?token=${webhookToken(env, path)}`;
}

/**
 * The URL a provider posts delivery reports of one message to: for a registered provider, its name and a token of
 * its own (`&provider=<name>`); for the configured one (`null`), the path's token alone.
 */
export function reportWebhookUrl(env: WebhookEnv, path: string, providerName: string | null): string {
  const token = webhookToken(env, path, providerName);
  const provider = providerName === null ? '' : `&provider=${encodeURIComponent(providerName)}`;
  return `${publicBaseUrl(env)}${path}?token=${token}${provider}`;
}

/**
 * Whether `token` is the token of `path` (and of `providerName`'s reports, when given) under any of the listed
 * secrets; false (never a throw) without `WEBHOOK_SECRET`.
 */
export function verifyWebhookToken(
  env: Pick<Env, 'WEBHOOK_SECRET'>,
  path: string,
  token: unknown,
  providerName: string | null = null,
): boolean {
  if (typeof token !== 'string') return false;
  const presented = Buffer.from(token);
  let matched = false;
  // Every secret is tried, matched or not, so that the time taken does not say which one matched.
  for (const secret of webhookSecrets(env)) {
    const expected = Buffer.from(tokenWith(secret, tokenSubject(path, providerName)));
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) matched = true;
  }
  return matched;
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
