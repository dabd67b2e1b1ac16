import { createHash, randomUUID } from 'node:crypto';

/**
 * Workflow ids (README "Find a send in the Temporal UI"): `send-<uuid>`, `send-idem-<key>`, `saga-<sagaId>`, `<sendId>-retry-<n>`.
 * The send id is the workflow id of the send's first run, so a send and its workflow are found by one name.
 */
export const newSendId = (): string => `send-${randomUUID()}`;

/** Idempotency keys are hashed so any client string becomes a safe, bounded workflow id. */
export const idempotentSendId = (key: string): string =>
  `send-idem-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;

export const sagaSendId = (sagaId: string): string => `saga-${sagaId}`;

export const retrySendId = (sendId: string, attempt: number): string => `${sendId}-retry-${attempt}`;

export const SEND_ID_PATTERN = /^(send-[0-9a-f-]{36}|send-idem-[0-9a-f]{32}|saga-[\w.:-]{1,200})(-retry-\d+)?$/;

/** A MongoDB ObjectId in hex (templates' ids, users' ids of that form); the API's schemas and the repositories use it. */
export const OBJECT_ID_PATTERN = /^[0-9a-fA-F]{24}$/;

export const isObjectIdHex = (value: string): boolean => OBJECT_ID_PATTERN.test(value);
