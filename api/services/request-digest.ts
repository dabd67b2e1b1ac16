import { createHash } from 'node:crypto';
import { SEND_LIST_FIELDS, type SendBody } from '../schemas/send-schemas';

/** A client's `Idempotency-Key` and the digest of its request's body. */
export interface IdempotencyOptions {
  key: string;
  digest: string;
}

/** JSON with every object's keys sorted, so that two equal values have one text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The SHA-256 of a `/send` body normalized (docs/api.md, `Idempotency-Key`): keys in any order, the list fields as
 * sets, a missing list or `data` as an empty one. Two bodies with one digest ask for the same send.
 */
export function requestDigest(body: SendBody): string {
  const normalized: Record<string, unknown> = { ...body, data: body.data ?? {} };
  for (const field of SEND_LIST_FIELDS) normalized[field] = [...new Set(body[field] ?? [])].sort();
  return createHash('sha256').update(canonicalJson(normalized)).digest('hex');
}

/**
 * The SHA-256 of a `POST /messages` (or `/messages/notifications`) body with its keys in any order. The order of the
 * message objects counts: it numbers them (`<requestId>-<n>`).
 */
export function messagesRequestDigest(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
