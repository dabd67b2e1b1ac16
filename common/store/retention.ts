import { MongoServerError, type Collection } from 'mongodb';

/** The index on `createdAt` of every expiring collection: a TTL index where the store has them. */
export const RETENTION_INDEX = 'by_created';
/** The index on `retentionFrom` of the collections whose documents expire once they are no longer needed. */
export const RETENTION_FROM_INDEX = 'by_retention_from';

/**
 * The date a collection's retention counts from: `createdAt`, or `retentionFrom`, the moment a document stopped being
 * needed (a throttle claim's window ended, a cancelled send can no longer run, a digest event was flushed), which a
 * document still needed does not have yet, so no TTL index and no purge can reach it.
 */
export type RetentionField = 'createdAt' | 'retentionFrom';

const RETENTION_INDEXES = {
  createdAt: { name: RETENTION_INDEX, key: { createdAt: -1 } },
  retentionFrom: { name: RETENTION_FROM_INDEX, key: { retentionFrom: 1 } },
} as const satisfies Record<RetentionField, { name: string; key: Record<string, 1 | -1> }>;

const DAY_MS = 86_400_000;

/** MongoDB's answers to a `createIndexes` whose name is taken: same key with other options, or another key. */
const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_KEY_SPECS_CONFLICT = 86;
/** FerretDB 1.x answers `Index option "expireAfterSeconds" is not implemented yet` (and the same to `collMod`). */
const NOT_IMPLEMENTED = 238;
const INDEX_NOT_FOUND = 27;

const errorCode = (error: unknown) => (error instanceof MongoServerError ? error.code : undefined);

/** What the expiring collections have in common: an `_id` and the date the retention counts from. */
export type ExpiringDocument = { _id: string; createdAt?: Date; retentionFrom?: Date };

/** Creates the field's retention index with this TTL, or changes the TTL of the one that is there. */
async function applyTtl(
  collection: Collection<ExpiringDocument>,
  expireAfterSeconds: number,
  field: RetentionField,
): Promise<void> {
  const { name, key } = RETENTION_INDEXES[field];
  try {
    await collection.createIndex(key, { name, expireAfterSeconds });
  } catch (error) {
    if (errorCode(error) === INDEX_OPTIONS_CONFLICT) {
      await collection.db.command({ collMod: collection.collectionName, index: { name, expireAfterSeconds } });
    } else if (errorCode(error) === INDEX_KEY_SPECS_CONFLICT) {
      await collection.dropIndex(name);
      await collection.createIndex(key, { name, expireAfterSeconds });
    } else {
      throw error;
    }
  }
}

/**
 * Makes `by_created` (or, for `retentionFrom`, `by_retention_from`) a TTL index of `retentionDays` on one collection:
 * creates it, changes its `expireAfterSeconds` with `collMod` when an earlier retention (or none: the plain index of
 * earlier versions) made it, or drops and recreates an index of that name on another key. True when the store keeps
 * the TTL index; false when it has no TTL indexes (FerretDB 1.24), and then `plainIndex` asks for the index without
 * its TTL. A document without the field never expires by the index (nor by `purgeExpired`).
 */
export async function ensureRetentionIndex(
  collection: Collection<ExpiringDocument>,
  retentionDays: number,
  plainIndex = false,
  field: RetentionField = 'createdAt',
): Promise<boolean> {
  try {
    await applyTtl(collection, retentionDays * 86_400, field);
    return true;
  } catch (error) {
    if (errorCode(error) !== NOT_IMPLEMENTED) throw error;
    const { name, key } = RETENTION_INDEXES[field];
    if (plainIndex) await collection.createIndex(key, { name });
    return false;
  }
}

/**
 * Makes the field's retention index plain (no TTL): creates it, or drops and recreates an index of that name with a
 * TTL or another key, as earlier versions made `by_created` of the sends and the requests. Two processes starting at
 * once may both drop it: the second's drop finds none, and both create the same plain index.
 */
export async function ensurePlainRetentionIndex(
  collection: Collection<ExpiringDocument>,
  field: RetentionField = 'createdAt',
): Promise<void> {
  const { name, key } = RETENTION_INDEXES[field];
  try {
    await collection.createIndex(key, { name });
  } catch (error) {
    if (errorCode(error) !== INDEX_OPTIONS_CONFLICT && errorCode(error) !== INDEX_KEY_SPECS_CONFLICT) throw error;
    await collection.dropIndex(name).catch((dropError: unknown) => {
      if (errorCode(dropError) !== INDEX_NOT_FOUND) throw dropError;
    });
    await collection.createIndex(key, { name });
  }
}

/**
 * The `retentionFrom` of a send or a `POST /messages` request: its `sendAt` when it waits for one, else its creation.
 * A send scheduled further ahead than the retention is kept until it has gone out and `RETENTION_DAYS` more.
 */
export const sendRetentionFrom = ({ createdAt, sendAt }: { createdAt: Date; sendAt?: Date }): Date =>
  sendAt !== undefined && sendAt > createdAt ? sendAt : createdAt;

/** Options of `purgeExpired`. */
export interface PurgeOptions {
  /** Documents whose `field` is before this date go. Default: `RETENTION_DAYS` before now. */
  before?: Date;
  /** Documents read and deleted per round trip, so that no single write holds the store for long. Default: 1000. */
  batchSize?: number;
  /** The date the retention counts from. Default: `createdAt`. */
  field?: RetentionField;
  /**
   * Only the documents without a `retentionFrom`: the sends and requests written before they carried one, which
   * count from their `createdAt` (a TTL index cannot say "this field, else that one").
   */
  withoutRetentionFrom?: boolean;
}

/**
 * Deletes the documents of the expiring collections whose `field` (`createdAt` unless told) is before the retention,
 * in batches: a bounded `find` of ids on the field, then one delete by `_id` per document in one `bulkWrite`. The
 * delete by id is what FerretDB serves from an index; its `find` on `createdAt` scans in insertion order, so old
 * documents come first and a batch ends its scan early (only the last, short batch reads to the end; on
 * `retentionFrom`, which is not in insertion order, every batch may read further). Children before sends, so that a send outlives
 * its deliveries if a purge stops half-way. Returns how many documents went, per collection.
 */
export async function purgeExpired(
  collections: Collection<ExpiringDocument>[],
  retentionDays: number,
  options: PurgeOptions = {},
): Promise<Record<string, number>> {
  const before = options.before ?? new Date(Date.now() - retentionDays * DAY_MS);
  const batchSize = options.batchSize ?? 1000;
  const field = options.field ?? 'createdAt';
  const deleted: Record<string, number> = {};
  for (const collection of collections) {
    let count = 0;
    for (;;) {
      const expired = await collection
        .find(
          { [field]: { $lt: before }, ...(options.withoutRetentionFrom ? { retentionFrom: { $exists: false } } : {}) },
          { projection: { _id: 1 }, limit: batchSize },
        )
        .toArray();
      if (expired.length === 0) break;
      const result = await collection.bulkWrite(
        expired.map(({ _id }) => ({ deleteOne: { filter: { _id } } })),
        { ordered: false },
      );
      count += result.deletedCount;
      if (expired.length < batchSize) break;
    }
    deleted[collection.collectionName] = count;
  }
  return deleted;
}
