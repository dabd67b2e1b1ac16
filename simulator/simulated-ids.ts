import { randomBytes } from 'node:crypto';

// A random per-process prefix plus a counter: unique across restarts without paying for
// crypto.randomBytes on every request.
const processPrefix = randomBytes(8).toString('hex');
let counter = 0;

/** Returns 32 lowercase hex characters, unique within this process and very likely across processes. */
export function hex32(): string {
  counter += 1;
  return processPrefix + counter.toString(16).padStart(16, '0');
}

/** A UUID-shaped id (8-4-4-4-12) built from hex32(), for providers whose ids look like UUIDs. */
export function uuidLike(): string {
  const h = hex32();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
