import { createHash, randomUUID } from 'node:crypto';

/**
 * Workflow ids (docs/operating-sends.md "Find a send in the Temporal UI"): `send-<uuid>`, `send-idem-<key>`,
 * `saga-<sagaId>`, `sched-<scheduleId>-<firing time>`, `<sendId>-retry-<n>`. The send id is the workflow id of the send's first run, so a send and its
 * workflow are found by one name.
 */
export const newSendId = (): string => `send-${randomUUID()}`;

const keyDigest = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 32);

/** Idempotency keys are hashed so any client string becomes a safe, bounded workflow id. */
export const idempotentSendId = (key: string): string => `send-idem-${keyDigest(key)}`;

/** The request id (and workflow id) of a `POST /messages` with an `Idempotency-Key`; `msg-<uuid>` without one. */
export const messageRequestId = (idempotencyKey?: string): string =>
  idempotencyKey === undefined ? `msg-${randomUUID()}` : `msg-idem-${keyDigest(idempotencyKey)}`;

/**
 * The workflow id of a saga: its send (`sagaSendMessage`), or the fail event of a command that started none
 * (`sagaFailEvent`). One id for both, so that Temporal lets one of them own the saga (docs/operating-sends.md "Saga
 * sends").
 */
export const sagaSendId = (sagaId: string): string => `saga-${sagaId}`;

export const retrySendId = (sendId: string, attempt: number): string => `${sendId}-retry-${attempt}`;

/** A saga id (the Flow Manager's `key`) has 1 to this many UTF-16 code units, of any character. */
export const SAGA_ID_MAX_LENGTH = 200;

/** Saga ids that would read as a retry of another saga's send (`saga-<sagaId>-retry-<n>`) are refused. */
export const RETRY_SUFFIX = /-retry-\d+$/;

/** Lone surrogates cannot be encoded as UTF-8, which Temporal needs for a workflow id. */
export const isWellFormed = (text: string): boolean => !/\p{Cs}/u.test(text);

/** A schedule id (`POST /schedules`): letters, digits, `_` and `-`, so the send ids of its firings stay readable. */
export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * The workflow id a schedule's action starts with; Temporal appends `-<firing time>` (RFC 3339, UTC) to it, so each
 * firing is a send of its own, `sched-<scheduleId>-2027-03-14T09:00:00Z`, and no firing is started twice.
 */
export const scheduledSendWorkflowId = (scheduleId: string): string => `sched-${scheduleId}`;

/**
 * The forms of a send id; `isSendId` adds that a saga id must be well-formed. 200 = `SAGA_ID_MAX_LENGTH`. A digest's
 * flush is `send-digest-<hash>-<n>` (`digestFlushSendId`, common/temporal/digest-definitions.ts).
 */
export const SEND_ID_PATTERN =
  /^(send-[0-9a-f-]{36}|send-idem-[0-9a-f]{32}|send-digest-[0-9a-f]{32}-\d+|saga-[\s\S]{1,200}|sched-[A-Za-z0-9_-]{1,100}-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)(-retry-\d+)?$/;

/**
 * Whether `id` is the id of a send or a retry: any saga id `/saga/send` accepts gives one (in a URL it is
 * percent-encoded, `/sends/saga-order%2042`).
 */
export const isSendId = (id: string): boolean => SEND_ID_PATTERN.test(id) && isWellFormed(id);

/**
 * The digest of a (user, digest key), which is also its workflow id: one workflow per pair, so that the events of
 * both meet in one digest however they arrive. Hashed, so any key is a safe, bounded id; the NUL keeps
 * ("a", "bc") and ("ab", "c") apart.
 */
export const digestId = (userId: string, digestKey: string): string =>
  `digest-${keyDigest(`${userId}\u0000${digestKey}`)}`;

export const DIGEST_ID_PATTERN = /^digest-[0-9a-f]{32}$/;

/** The id of an event given to `POST /events` without one. */
export const newDigestEventId = (): string => `evt-${randomUUID()}`;

/** A MongoDB ObjectId in hex (templates' ids, users' ids of that form); the API's schemas and the repositories use it. */
export const OBJECT_ID_PATTERN = /^[0-9a-fA-F]{24}$/;

export const isObjectIdHex = (value: string): boolean => OBJECT_ID_PATTERN.test(value);
