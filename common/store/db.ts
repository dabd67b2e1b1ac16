import {
  BSON,
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Db,
  type Document,
  type OptionalUnlessRequiredId,
} from 'mongodb';
import type { AppConfig } from '../config/config';
import type { ConversationDocument, ConversationEventDocument } from '../domain/conversation-model';
import type { InboundMessageDocument } from '../domain/inbound-message-model';
import type {
  AudiencePageDocument,
  BatchCountsDocument,
  DeliveryDocument,
  DispatchClaimDocument,
  SendDocument,
} from '../domain/send-types';
import type { DigestDocument, DigestEventDocument, DigestFlushDocument } from './digests-repository';
import type { ErasureDocument } from './erasure';
import type { CallbackEventDocument } from './messaging/callback-events-repository';
import type { ConversationLockDocument } from './messaging/conversations-repository';
import type { ProviderMessageDocument } from './messaging/delivery-reports-repository';
import type { MessageRequestDocument } from './messaging/message-requests-repository';
import type { NotificationDocument } from './notifications-repository';
import type { PlaceholdersDocument } from './placeholders-repository';
import type { PreferencesDocument } from './preferences-repository';
import type { SuppressionDocument } from './suppressions-repository';
import type { ThrottleClaimDocument } from './throttle-claims-repository';
import type { ProviderDocument, TenantDefaultDocument } from './providers-repository';
import type { RateTokenDocument } from './rate-tokens-repository';
import { ensurePlainRetentionIndex, ensureRetentionIndex, type ExpiringDocument } from './retention';
import type { SagaFailEventDocument } from './saga-fail-events-repository';
import type { SendCancellationDocument } from './send-cancellations-repository';
import type { SendScheduleDocument } from './send-schedules-repository';
import type { TemplateVersionDocument } from './template-versions-repository';
import type { StoredTemplateDocument } from './templates-repository';
import type { UserDocument } from './users-repository';

/**
 * The service's collections, each typed by its documents, and the one way to them: each is read and written by its
 * repository (`<collection>-repository.ts` here), which the API and the activities use instead of the driver. Users
 * and templates belong to the product team, the rest to us.
 */
export interface Database {
  client: MongoClient;
  db: Db;
  users: Collection<UserDocument>;
  templates: Collection<StoredTemplateDocument>;
  /** Every version of every mode template's content, keyed `<templateId>:<version>`, never changed once stored. */
  templateVersions: Collection<TemplateVersionDocument>;
  sends: Collection<SendDocument>;
  deliveries: Collection<DeliveryDocument>;
  /** The audience of each send as it was when the send started: user ids, one page per document. */
  audiencePages: Collection<AudiencePageDocument>;
  /** One document per dispatch batch that has started: tells a first run from a retry or a replay. */
  dispatchClaims: Collection<DispatchClaimDocument>;
  /** The final counts of a dispatch batch whose result could not carry them (docs/internals.md), keyed by batch. */
  batchCounts: Collection<BatchCountsDocument>;
  /** Provider calls per channel and second, shared by every worker (`rateLimits`): one token per call. */
  rateTokens: Collection<RateTokenDocument>;
  /** Registered providers (`/providers`), keyed by name; credentials encrypted (docs/os1-messaging.md). */
  providers: Collection<ProviderDocument>;
  /** One document per channel that has a tenant default provider, keyed by channel: the store keeps it one. */
  tenantDefaults: Collection<TenantDefaultDocument>;
  /** Notifications under admin review (`/notifications`). */
  notifications: Collection<NotificationDocument>;
  /** Placeholder values of the tenant and of each application (`/placeholders`, `/apps/:appId/placeholders`). */
  placeholders: Collection<PlaceholdersDocument>;
  /** What each user chose to receive (`/users/:id/preferences`), keyed by the user's id. */
  preferences: Collection<PreferencesDocument>;
  /** Addresses that must not be contacted, per channel (`/suppressions`). */
  suppressions: Collection<SuppressionDocument>;
  /** The slots of throttled sends' deliveries, per user, channel and key. */
  throttleClaims: Collection<ThrottleClaimDocument>;
  /** `POST /messages` requests: the messages with their addresses, the callback, the resolved templates. */
  messageRequests: Collection<MessageRequestDocument>;
  /** Delivery status events owed to a request's callback URL, keyed by (delivery, status): each posted once. */
  callbackEvents: Collection<CallbackEventDocument>;
  /** A provider's message id → the ledger entry it delivers, for the providers' delivery reports. */
  providerMessages: Collection<ProviderMessageDocument>;
  /** Two-way WhatsApp conversations (`POST /conversations`), their transcripts, and the lock of each open one. */
  conversations: Collection<ConversationDocument>;
  conversationEvents: Collection<ConversationEventDocument>;
  /** One document per open conversation, keyed by (business number, customer): the store keeps it one. */
  conversationLocks: Collection<ConversationLockDocument>;
  /** Every inbound WhatsApp message, keyed by (provider, message id): a provider's repeated call is taken once. */
  inboundMessages: Collection<InboundMessageDocument>;
  /** Fail events of refused saga commands (docs/operating-sends.md "Saga sends"), keyed by saga id. */
  sagaFailEvents: Collection<SagaFailEventDocument>;
  /** The cancel of each cancelled send (`DELETE /sends/:id`, `POST /sends/cancel`), keyed by send id. */
  sendCancellations: Collection<SendCancellationDocument>;
  /** One record per erasure (`POST /erasures`): what it touched, never whom. */
  erasures: Collection<ErasureDocument>;
  /** Digests (docs/digests.md): one per (user, digest key), each accepted event once, each flush and its send. */
  digests: Collection<DigestDocument>;
  digestEvents: Collection<DigestEventDocument>;
  digestFlushes: Collection<DigestFlushDocument>;
  /** Recurring sends (`POST /schedules`), keyed by schedule id: the send each firing makes. */
  sendSchedules: Collection<SendScheduleDocument>;
  close(): Promise<void>;
}

/**
 * Connects once per process and makes sure the indexes the ledger relies on exist. Index creation is
 * idempotent, so the API and every worker may run it at boot.
 */
export async function connectDatabase(config: AppConfig, options: { ensureIndexes?: boolean } = {}): Promise<Database> {
  const client = new MongoClient(config.env.MONGODB_URL, { serverSelectionTimeoutMS: 10000, maxPoolSize: 50 });
  try {
    await client.connect();
  } catch (error) {
    // Named by its variable and host, never its credentials: the boot's message must say what to fix.
    const host = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]*)/.exec(config.env.MONGODB_URL)?.[1] ?? 'the server';
    throw new Error(`MONGODB_URL: cannot connect to ${host}: ${(error as Error).message}`, { cause: error });
  }
  const db = client.db(databaseName(config.env.MONGODB_URL));
  const database: Database = {
    client,
    db,
    users: db.collection<UserDocument>(config.env.USERS_CRUD_NAME),
    templates: db.collection<StoredTemplateDocument>(config.env.TEMPLATES_CRUD_NAME),
    templateVersions: db.collection<TemplateVersionDocument>('template_versions'),
    sends: db.collection<SendDocument>('sends'),
    deliveries: db.collection<DeliveryDocument>('deliveries'),
    audiencePages: db.collection<AudiencePageDocument>('audience_pages'),
    dispatchClaims: db.collection<DispatchClaimDocument>('dispatch_claims'),
    batchCounts: db.collection<BatchCountsDocument>('batch_counts'),
    rateTokens: db.collection<RateTokenDocument>('rate_tokens'),
    providers: db.collection<ProviderDocument>('providers'),
    tenantDefaults: db.collection<TenantDefaultDocument>('tenant_defaults'),
    notifications: db.collection<NotificationDocument>('notifications'),
    placeholders: db.collection<PlaceholdersDocument>('placeholders'),
    preferences: db.collection<PreferencesDocument>('preferences'),
    suppressions: db.collection<SuppressionDocument>('suppressions'),
    throttleClaims: db.collection<ThrottleClaimDocument>('throttle_claims'),
    messageRequests: db.collection<MessageRequestDocument>('message_requests'),
    callbackEvents: db.collection<CallbackEventDocument>('callback_events'),
    providerMessages: db.collection<ProviderMessageDocument>('provider_messages'),
    conversations: db.collection<ConversationDocument>('conversations'),
    conversationEvents: db.collection<ConversationEventDocument>('conversation_events'),
    conversationLocks: db.collection<ConversationLockDocument>('conversation_locks'),
    inboundMessages: db.collection<InboundMessageDocument>('inbound_messages'),
    sagaFailEvents: db.collection<SagaFailEventDocument>('saga_fail_events'),
    sendCancellations: db.collection<SendCancellationDocument>('send_cancellations'),
    erasures: db.collection<ErasureDocument>('erasures'),
    digests: db.collection<DigestDocument>('digests'),
    digestEvents: db.collection<DigestEventDocument>('digest_events'),
    digestFlushes: db.collection<DigestFlushDocument>('digest_flushes'),
    sendSchedules: db.collection<SendScheduleDocument>('send_schedules'),
    close: () => client.close(),
  };
  if (options.ensureIndexes !== false) await ensureIndexes(database, config);
  return database;
}

/** The database named in a connection string (`mongodb://a:1,b:2/name?opts`), `messaging` when it names none. */
export function databaseName(url: string): string {
  const name = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(url)?.[1];
  return name ? decodeURIComponent(name) : 'messaging';
}

/**
 * The collections of a send whose documents expire `RETENTION_DAYS` after their `createdAt` (docs/operations.md
 * "Retention"), each typed by what the retention reads of it. Each is written once its send runs; the sends and
 * requests themselves are among `retainedUntilUnneededCollections`, purged after these.
 */
export const expiringCollections = (database: Database): Collection<ExpiringDocument>[] =>
  [
    database.digestFlushes,
    database.deliveries,
    database.audiencePages,
    database.dispatchClaims,
    database.batchCounts,
    database.callbackEvents,
    database.providerMessages,
    database.inboundMessages,
    database.conversationEvents,
    database.conversations,
  ].map(({ collectionName }) => database.db.collection<ExpiringDocument>(collectionName));

/**
 * The requests and sends: `retentionFrom` since they carry one; those written before count from their `createdAt`
 * (`purgeExpired`'s `withoutRetentionFrom`). Their `by_created` index orders `GET /messages` and `GET /sends`, so it
 * stays, without a TTL.
 */
export const sendRecordCollections = (database: Database): Collection<ExpiringDocument>[] =>
  [database.messageRequests, database.sends].map(({ collectionName }) =>
    database.db.collection<ExpiringDocument>(collectionName),
  );

/**
 * The collections whose documents expire `RETENTION_DAYS` after their `retentionFrom`, the moment each stopped being
 * needed (docs/operations.md "Retention"): a throttle claim when its window ends, a send's cancel when the send can no
 * longer run, a digest event once every digest of it flushed it or it was removed, a send or a `POST /messages` request
 * once it goes out (its `sendAt`, else its creation). Until then a document has no `retentionFrom` (an event still
 * pending) or one in the future, and stays. Sends last.
 */
export const retainedUntilUnneededCollections = (database: Database): Collection<ExpiringDocument>[] =>
  [database.throttleClaims, database.sendCancellations, database.digestEvents, ...sendRecordCollections(database)].map(
    ({ collectionName }) => database.db.collection<ExpiringDocument>(collectionName),
  );

async function ensureIndexes(database: Database, config: AppConfig): Promise<void> {
  const { clusters } = config.service.userFields;
  await Promise.all([
    ensureUniqueUserId(database, config.service.userFields.id),
    // The delivery's _id is `<sendId>|<channel>|<userId>`: the unique (sendId, userId, channel) key
    // (docs/internals.md).
    database.deliveries.createIndex({ sendId: 1, status: 1, channel: 1 }, { name: 'by_send_status' }),
    database.users.createIndex({ [clusters]: 1 }, { name: 'by_cluster' }),
    // A request's pending callbacks, in key order (activities/messages/post-callbacks.ts).
    database.callbackEvents.createIndex({ requestId: 1, state: 1, _id: 1 }, { name: 'by_request_state' }),
    // `GET /messages` by status or by application, newest first
    // (common/store/messaging/message-requests-repository.ts).
    database.messageRequests.createIndex({ status: 1, createdAt: -1 }, { name: 'by_status_created' }),
    database.messageRequests.createIndex({ appId: 1, createdAt: -1 }, { name: 'by_app_created' }),
    // Whether an application registered a notification, on every `POST /messages` of its keys
    // (common/store/notifications-repository.ts).
    database.notifications.createIndex({ appId: 1 }, { name: 'by_app' }),
    // `GET /digests?userId=&digestKey=` and a digest's flushes, newest first (common/store/digests-repository.ts).
    database.digests.createIndex({ userId: 1, digestKey: 1 }, { name: 'by_user_key' }),
    database.digestFlushes.createIndex({ digestId: 1, flushNumber: -1 }, { name: 'by_digest_number' }),
    database.digestEvents.createIndex({ cancellationKey: 1 }, { name: 'by_cancellation_key' }),
    // `GET /sends?status=scheduled` and `GET /messages?status=scheduled` in `sendAt` order, `_id` breaking ties as
    // their sort does (so the index gives the order, no sort of every scheduled send), and the sends of a cancellation
    // key (`POST /sends/cancel`) (common/store/sends-repository.ts, messaging/message-requests-repository.ts). A store
    // created before keeps its `by_status_send_at` of sends too, unused.
    database.sends.createIndex({ status: 1, sendAt: 1, _id: 1 }, { name: 'by_status_send_at_id' }),
    database.messageRequests.createIndex({ status: 1, sendAt: 1, _id: 1 }, { name: 'by_status_send_at_id' }),
    database.sends.createIndex({ cancellationKey: 1 }, { name: 'by_cancellation_key' }),
    database.messageRequests.createIndex({ cancellationKey: 1 }, { name: 'by_cancellation_key' }),
    // A template's versions, newest first (`GET /templates/:id/versions`, common/store/template-versions-repository.ts).
    database.templateVersions.createIndex({ templateId: 1, version: -1 }, { name: 'by_template_version' }),
    // A throttle's latest claim of a slot, and a retried delivery's own claim (common/store/throttle-claims-repository.ts).
    database.throttleClaims.createIndex({ scope: 1, slot: 1, generation: -1 }, { name: 'by_scope_slot' }),
    database.throttleClaims.createIndex({ scope: 1, delivery: 1 }, { name: 'by_scope_delivery' }),
    // TTL indexes of `RETENTION_DAYS` (docs/operations.md "Retention").
    ...expiringCollections(database).map((collection) => ensureRetentionIndex(collection, config.env.RETENTION_DAYS)),
    ...retainedUntilUnneededCollections(database).map((collection) =>
      ensureRetentionIndex(collection, config.env.RETENTION_DAYS, false, 'retentionFrom'),
    ),
    // The sends' and the message requests' `by_created` orders `GET /sends` and `GET /messages`: plain, since a TTL
    // on `createdAt` would delete a send scheduled further ahead than the retention before it goes out.
    ...sendRecordCollections(database).map((collection) => ensurePlainRetentionIndex(collection)),
  ]);
}

/**
 * A `userFields.id` other than `_id` is unique in the users collection (a unique index: two `POST /users` with the same
 * id cannot both insert, on MongoDB and FerretDB alike); users stored without that field are left out of it (a
 * partial index). A collection that already holds two users with the same id refuses the index: the boot says so.
 */
async function ensureUniqueUserId(database: Database, idField: string): Promise<void> {
  if (idField === '_id') return;
  try {
    await database.users
      .createIndex(
        { [idField]: 1 },
        { name: 'unique_user_id', unique: true, partialFilterExpression: { [idField]: { $exists: true } } },
      )
      .catch((error: unknown) => {
        // FerretDB 1.x has no partial indexes: there, a plain unique index (which ignores users without the field).
        if (!(error instanceof MongoServerError && /partialFilterExpression/.test(error.message))) throw error;
        return database.users.createIndex({ [idField]: 1 }, { name: 'unique_user_id', unique: true });
      });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    throw new Error(
      `userFields.id: the users collection holds two users with the same ${idField}, so it cannot be made unique; ` +
        `give each user its own ${idField} (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/**
 * Reads by a list of ids are point lookups on `_id`, this many in flight: the one access path both MongoDB and
 * FerretDB serve from an index (FerretDB scans the collection for `$in`).
 */
export const POINT_LOOKUPS_IN_FLIGHT = 16;

const DUPLICATE_KEY = 11000;

export const isDuplicateKey = (error: unknown): boolean =>
  error instanceof MongoServerError && error.code === DUPLICATE_KEY;

/**
 * Inserts every document whose `_id` is free (one `insertMany`, unordered); returns the indexes of those whose
 * `_id` was taken. Without transactions (FerretDB), the unique `_id` is what makes a write idempotent or
 * decides which of two workers gets something. Any other write error is thrown.
 */
export async function insertWhereFree<T extends Document>(
  collection: Collection<T>,
  docs: OptionalUnlessRequiredId<T>[],
): Promise<number[]> {
  try {
    await collection.insertMany(docs, { ordered: false });
    return [];
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const writeErrors = [error.writeErrors].flat();
    if (writeErrors.length === 0 || writeErrors.some((writeError) => writeError.code !== DUPLICATE_KEY)) throw error;
    return writeErrors.map((writeError) => writeError.index);
  }
}

/** Labels the driver puts on errors of a connection that dropped or could not be opened. */
const UNREACHABLE_LABELS = ['ResetPool', 'RetryableWriteError', 'RetryableError', 'SystemOverloadedError'];

/**
 * A connection dropped or refused, or no server to talk to: worth waiting for, unlike a refused write. A bulk write
 * wraps the network error (its `errorResponse`), so labels and the wrapped error are checked too. The driver's own
 * retryable writes do not help: FerretDB does not support them.
 */
export function isStoreUnreachable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError
  ) {
    return true;
  }
  if (!(error instanceof MongoError)) return false;
  if (UNREACHABLE_LABELS.some((label) => error.hasErrorLabel(label))) return true;
  return error instanceof MongoBulkWriteError && error.errorResponse instanceof MongoNetworkError;
}

/** A closed client (the API stopping, or one whose first connection failed): it cannot reach the store either. */
export const isStoreClosed = (error: unknown): boolean => error instanceof MongoTopologyClosedError;

/** Whether the store answers at all (a `ping`); throws its error when it does not. */
export async function pingDatabase(database: Pick<Database, 'db'>): Promise<void> {
  await database.db.command({ ping: 1 });
}

/** The size of a document as the store keeps it (BSON), which must stay under its limit of 16 MiB. */
export const storedSize = (document: object): number => BSON.calculateObjectSize(document);

/** The store's answers that the same write will always get: a document over the limit, an invalid value. */
const REFUSED_DOCUMENT_CODES = new Set([2 /* BadValue */, 10334 /* BSONObjectTooLarge */, 17419, 17420]);

/** A document the store (or the driver, encoding it) refuses as it is: writing it again gets the same answer. */
export function isRefusedDocument(error: unknown): boolean {
  if (error instanceof BSON.BSONError || error instanceof MongoInvalidArgumentError) return true;
  return error instanceof MongoServerError && typeof error.code === 'number' && REFUSED_DOCUMENT_CODES.has(error.code);
}
