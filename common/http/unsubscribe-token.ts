import { createHmac, timingSafeEqual } from 'node:crypto';
import { CATEGORY_NAME, CHANNELS, type Channel, type Env } from '../config/config';
import { publicBaseUrl, webhookSecrets } from './webhook-urls';

/** Who unsubscribes from what: a user (or a raw address), on a channel, from a category (none: the whole channel). */
export interface UnsubscribeSubject {
  userId?: string;
  address?: string;
  channel: Channel;
  category?: string;
}

/** The signature's length in bytes, base64url-encoded in the token: 128 bits, beyond guessing. */
const SIGNATURE_BYTES = 16;
const MAX_TOKEN_CHARS = 1024;

const signatureWith = (secret: string, payload: string): Buffer =>
  createHmac('sha256', secret).update(`unsubscribe:${payload}`).digest().subarray(0, SIGNATURE_BYTES);

/**
 * The token of a one-click unsubscribe link (RFC 8058): `<payload>.<signature>`, the payload the subject as base64url
 * JSON, the signature an HMAC-SHA256 under the first `WEBHOOK_SECRET` (every listed secret verifies, so the secret
 * rotates as the webhook tokens do). It carries all it says, so verifying it needs no lookup. Null without
 * `WEBHOOK_SECRET`: no link is offered then.
 */
export function unsubscribeToken(env: Pick<Env, 'WEBHOOK_SECRET'>, subject: UnsubscribeSubject): string | null {
  const [secret] = webhookSecrets(env);
  if (!secret) return null;
  const payload = Buffer.from(
    JSON.stringify({
      ...(subject.userId !== undefined ? { u: subject.userId } : {}),
      ...(subject.address !== undefined ? { a: subject.address } : {}),
      c: subject.channel,
      ...(subject.category !== undefined ? { k: subject.category } : {}),
    }),
  ).toString('base64url');
  return `${payload}.${signatureWith(secret, payload).toString('base64url')}`;
}

/** `{PUBLIC_BASE_URL}/unsubscribe/{token}`, or null without `WEBHOOK_SECRET`. */
export function unsubscribeUrl(
  env: Pick<Env, 'WEBHOOK_SECRET' | 'PUBLIC_BASE_URL' | 'HTTP_PORT'>,
  subject: UnsubscribeSubject,
): string | null {
  const token = unsubscribeToken(env, subject);
  return token === null ? null : `${publicBaseUrl(env)}/unsubscribe/${token}`;
}

/**
 * The subject of a token signed under any of the listed secrets; null for a token tampered with, signed by another
 * service, or malformed (never a throw).
 */
export function readUnsubscribeToken(env: Pick<Env, 'WEBHOOK_SECRET'>, token: string): UnsubscribeSubject | null {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0) return null;
  const presented = Buffer.from(signature, 'base64url');
  let matched = false;
  // Every secret is tried, matched or not, so that the time taken does not say which one matched.
  for (const secret of webhookSecrets(env)) {
    const expected = signatureWith(secret, payload);
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) matched = true;
  }
  if (!matched) return null;
  let fields: { u?: unknown; a?: unknown; c?: unknown; k?: unknown };
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof fields;
  } catch {
    return null;
  }
  const { u, a, c, k } = fields;
  if (!(CHANNELS as readonly unknown[]).includes(c)) return null;
  if ((typeof u === 'string') === (typeof a === 'string')) return null;
  if (k !== undefined && (typeof k !== 'string' || !CATEGORY_NAME.test(k))) return null;
  return {
    ...(typeof u === 'string' ? { userId: u } : {}),
    ...(typeof a === 'string' ? { address: a } : {}),
    channel: c as Channel,
    ...(typeof k === 'string' ? { category: k } : {}),
  };
}
