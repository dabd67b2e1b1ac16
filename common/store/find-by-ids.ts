import type { Collection, Document, Filter, FindOptions, WithId } from 'mongodb';
import { mapWithConcurrency } from '../toolkit/concurrency';
import { POINT_LOOKUPS_IN_FLIGHT } from './db';

/**
 * Up to this many ids are read one by one by `_id`: FerretDB reads the whole collection for `{ _id: { $in } }`, so a
 * one-user send would scan it; more ids take one `$in` query, a scan shared by a whole batch.
 */
export const POINT_LOOKUPS_UP_TO = 25;

/** The documents with these ids (each at most once, in no particular order), the same on MongoDB and FerretDB. */
export async function findByIds<T extends Document & { _id: string }>(
  collection: Collection<T>,
  ids: string[],
  options: FindOptions = {},
): Promise<WithId<T>[]> {
  const unique = [...new Set(ids)];
  if (unique.length > POINT_LOOKUPS_UP_TO) {
    return collection.find({ _id: { $in: unique } } as Filter<T>, options).toArray();
  }
  const found = await mapWithConcurrency(unique, POINT_LOOKUPS_IN_FLIGHT, (id) =>
    collection.findOne({ _id: id } as Filter<T>, options),
  );
  return found.filter((document): document is WithId<T> => document !== null);
}
