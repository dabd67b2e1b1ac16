import { MongoServerError, type Collection } from 'mongodb';

/** The index on `createdAt` of every expiring collection: a TTL index where the store has them. */
export const RETENTION_INDEX = 'by_created';
const RETENTION_KEY = { createdAt: -1 } as const;

const DAY_MS = 86_400_000;

/** MongoDB's answers to a `createIndexes` whose name is taken: same key with other options, or another key. */
const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_KEY_SPECS_CONFLICT = 86;
/** FerretDB 1.x answers `Index option "expireAfterSeconds" is not implemented yet` (and the same to `collMod`). */
const NOT_IMPLEMENTED = 238;

const errorCode = (error: unknown) => (error instanceof MongoServerError ? error.code : undefined);

/** What the expiring collections have in common: an `_id` and the date the retention counts from. */
export type ExpiringDocument = { _id: string; createdAt: Date };

/** Creates `by_created` with this TTL, or changes the TTL of the `by_created` that is there. */
async function applyTtl(collection: Collection<ExpiringDocument>, expireAfterSeconds: number): Promise<void> {
  try {
    await collection.createIndex(RETENTION_KEY, { name: RETENTION_INDEX, expireAfterSeconds });
  } catch (error) {
    if (errorCode(error) === INDEX_OPTIONS_CONFLICT) {
      await collection.db.command({
        collMod: collection.collectionName,
        index: { name: RETENTION_INDEX, expireAfterSeconds },
      });
    } else if (errorCode(error) === INDEX_KEY_SPECS_CONFLICT) {
      await collection.dropIndex(RETENTION_INDEX);
      await collection.createIndex(RETENTION_KEY, { name: RETENTION_INDEX, expireAfterSeconds });
    } else {
      throw error;
    }
  }
}

/**
 * Makes `by_created` a TTL index of `retentionDays` on one collection: creates it, changes its
 * `expireAfterSeconds` with `collMod` when an earlier retention (or none: the plain index of earlier versions) made
 * it, or drops and recreates an index of that name on another key. True when the store keeps the TTL index;
 * false when it has no TTL indexes (FerretDB 1.24), and then `plainIndex` asks for the index without its TTL.
 */
export async function ensureRetentionIndex(
  collection: Collection<ExpiringDocument>,
  retentionDays: number,
  plainIndex = false,
): Promise<boolean> {
  try {
    await applyTtl(collection, retentionDays * 86_400);
    return true;
  } catch (error) {
    if (errorCode(error) !== NOT_IMPLEMENTED) throw error;
    if (plainIndex) await collection.createIndex(RETENTION_KEY, { name: RETENTION_INDEX });
    return false;
  }
}

/** Options of `purgeExpired`. */
export interface PurgeOptions {
  /** Documents created before this date go. Default: `RETENTION_DAYS` before now. */
  before?: Date;
  /** Documents read and deleted per round trip, so that no single write holds the store for long. Default: 1000. */
  batchSize?: number;
}

/**
 * Deletes the documents of the expiring collections created before the retention, in batches: a bounded `find` of
 * ids on `createdAt`, then one delete by `_id` per document in one `bulkWrite`. The delete by id is what FerretDB
 * serves from an index; its `find` on `createdAt` scans in insertion order, so old documents come first and a batch
 * ends its scan early (only the last, short batch reads to the end). Children before sends, so that a send outlives
 * its deliveries if a purge stops half-way. Returns how many documents went, per collection.
 */
export async function purgeExpired(
  collections: Collection<ExpiringDocument>[],
  retentionDays: number,
  options: PurgeOptions = {},
): Promise<Record<string, number>> {
  const before = options.before ?? new Date(Date.now() - retentionDays * DAY_MS);
  const batchSize = options.batchSize ?? 1000;
  const deleted: Record<string, number> = {};
  for (const collection of collections) {
    let count = 0;
    for (;;) {
      const expired = await collection
        .find({ createdAt: { $lt: before } }, { projection: { _id: 1 }, limit: batchSize })
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
