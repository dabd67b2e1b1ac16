import { ObjectId, type Document, type Filter } from 'mongodb';
import { mapWithConcurrency } from '../toolkit/concurrency';
import type { ServiceConfig } from '../config/config';
import { isDuplicateKey, POINT_LOOKUPS_IN_FLIGHT, type Database } from './db';
import { isObjectIdHex } from '../temporal/workflow-ids';

/** Where paging through an audience stopped: the last `_id` seen, with its BSON type so it can be rebuilt. */
export interface AudienceCursor {
  type: 'objectId' | 'string' | 'number';
  value: string;
}

/**
 * A user as the product team stores it: their fields, under their names (`userFields` says which ones the service
 * reads); the `_id` an ObjectId, a string or a number.
 */
export interface UserDocument extends Document {
  _id?: ObjectId | string | number;
}

export interface AudienceMember {
  userId: string;
  user: UserDocument;
  /** Where to resume the audience after this user; null when it streams in the store's own order. */
  cursor: AudienceCursor | null;
}

/**
 * The order an audience streams in: by `_id` (resumed after a cursor), or the store's own order (resumed by skipping
 * the ids already taken) where the store cannot stream `_id` order (FerretDB sorts a query's whole result in memory
 * before answering its first batch).
 */
export type AudienceOrder = 'id' | 'store';

/**
 * Where an audience stream starts: after a cursor (`_id` order; with `skip` too when the cursor may be behind the ids
 * already taken), or past the ids already taken (store order).
 */
export type AudienceResume =
  { after: AudienceCursor | null; skip?: ReadonlySet<string> } | { skip: ReadonlySet<string> };

export interface AudienceSelector {
  recipients: string[];
  clusters: string[];
}

/** A recipient id matches a stored id of either form: a 24-hex string may be an ObjectId or a plain string. */
export function idCandidates(ids: string[]): (string | ObjectId)[] {
  return ids.flatMap((id) => (isObjectIdHex(id) ? [id, new ObjectId(id)] : [id]));
}

/** Users' ids travel as strings (workflow history, ledger keys): ObjectIds as their hex form. */
export const userIdToString = (id: unknown): string => (id instanceof ObjectId ? id.toHexString() : String(id));

// BSON sorts numbers before strings before ObjectIds; a cursor must also admit every later type.
const TYPE_ORDER: AudienceCursor['type'][] = ['number', 'string', 'objectId'];

function cursorValue(cursor: AudienceCursor): unknown {
  if (cursor.type === 'objectId') return new ObjectId(cursor.value);
  if (cursor.type === 'number') return Number(cursor.value);
  return cursor.value;
}

/**
 * An audience of listed ids alone up to this size is read by point lookups (docs/internals.md); a longer list is one
 * query, since past a few thousand lookups one pass over the collection costs less.
 */
export const POINT_LOOKUP_AUDIENCE = 1000;

const typeRank = (id: unknown): number => (typeof id === 'number' ? 0 : id instanceof ObjectId ? 2 : 1);
/** Tells an `_id` of one BSON type from the same value in another (a string and an ObjectId of the same hex). */
const idKey = (id: unknown): string => `${typeRank(id)}:${userIdToString(id)}`;

/** BSON's order of `_id`s of the types a cursor knows: numbers, then strings (by their UTF-8 bytes), then ObjectIds. */
export function compareIds(a: unknown, b: unknown): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return rank;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a instanceof ObjectId && b instanceof ObjectId) return Buffer.compare(a.id, b.id);
  return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
}

/** The filter of the users that come after `cursor` in `_id` order (all of them without one). */
export function afterCursor(cursor: AudienceCursor | null): Filter<UserDocument> {
  if (!cursor) return {};
  const later = TYPE_ORDER.slice(TYPE_ORDER.indexOf(cursor.type) + 1);
  return {
    $or: [{ _id: { $gt: cursorValue(cursor) } }, ...later.map((type) => ({ _id: { $type: type } }))],
  } as Filter<UserDocument>;
}

/** The cursor that resumes an audience after the user with this `_id`. */
export function cursorOf(id: unknown): AudienceCursor {
  if (id instanceof ObjectId) return { type: 'objectId', value: id.toHexString() };
  if (typeof id === 'number') return { type: 'number', value: String(id) };
  return { type: 'string', value: String(id) };
}

/**
 * The product team's users collection (`USERS_CRUD_NAME`), read and written with its own field names
 * (`userFields`, docs/configuration.md): the CRUD of `/users` and the audience reads of a send.
 */
export class UsersRepository {
  private sortsInMemory: Promise<boolean> | undefined;

  constructor(
    private readonly database: Database,
    private readonly fields: ServiceConfig['userFields'],
  ) {}

  /** A user's id as a client gives it: matched against `userFields.id` in either stored form. */
  private byId(id: string): Filter<UserDocument> {
    return { [this.fields.id]: { $in: idCandidates([id]) } };
  }

  list(filter: { cluster?: string; limit: number; skip: number }): Promise<UserDocument[]> {
    return this.database.users
      .find(filter.cluster ? { [this.fields.clusters]: filter.cluster } : {})
      .sort({ _id: 1 })
      .skip(filter.skip)
      .limit(filter.limit)
      .toArray();
  }

  findById(id: string): Promise<UserDocument | null> {
    return this.database.users.findOne(this.byId(id));
  }

  /**
   * The document `insert` would store for these fields: a new `_id`, and when `userFields.id` is another field,
   * that field too (the `_id` in hex unless given). A client's own `_id` is ignored.
   */
  newDocument(fields: Record<string, unknown>): UserDocument {
    const { _id: _ignored, ...rest } = fields;
    const _id = new ObjectId();
    if (this.fields.id !== '_id' && rest[this.fields.id] === undefined) rest[this.fields.id] = _id.toHexString();
    const now = new Date();
    return { _id, ...rest, createdAt: now, updatedAt: now };
  }

  /**
   * False when `userFields.id` is not `_id` and another user has the same id already: the unique index on that field
   * (common/store/db.ts) refuses the insert, so two concurrent creates with one id cannot both succeed.
   */
  async insert(user: UserDocument): Promise<boolean> {
    try {
      await this.database.users.insertOne(user);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Sets the given fields (never the id fields); null when no user has this id. */
  update(id: string, fields: Record<string, unknown>): Promise<UserDocument | null> {
    const { _id: _ignored, ...rest } = fields;
    if (this.fields.id !== '_id') delete rest[this.fields.id];
    return this.database.users.findOneAndUpdate(
      this.byId(id),
      { $set: { ...rest, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
  }

  /** False when no user has this id. */
  async remove(id: string): Promise<boolean> {
    return (await this.database.users.deleteOne(this.byId(id))).deletedCount > 0;
  }

  private audienceFilter({ recipients, clusters }: AudienceSelector): Filter<UserDocument> {
    const anyOf: Filter<UserDocument>[] = [];
    if (recipients.length > 0) anyOf.push({ [this.fields.id]: { $in: idCandidates(recipients) } });
    if (clusters.length > 0) anyOf.push({ [this.fields.clusters]: { $in: clusters } });
    if (anyOf.length === 0) return { _id: { $exists: false } };
    return anyOf.length === 1 ? anyOf[0] : { $or: anyOf };
  }

  /** Whether this audience streams in `_id` order or the store's own (see `AudienceOrder`). */
  async audienceOrder(selector: AudienceSelector): Promise<AudienceOrder> {
    if (this.isListedAudience(selector)) return 'id';
    return (await this.storeSortsInMemory()) ? 'store' : 'id';
  }

  /** FerretDB (which names itself in `buildInfo`) sorts in memory; MongoDB walks the `_id` index. */
  private storeSortsInMemory(): Promise<boolean> {
    this.sortsInMemory ??= this.database.db
      .admin()
      .command({ buildInfo: 1 })
      .then((info) => info.ferretdbVersion !== undefined)
      .catch(() => false);
    return this.sortsInMemory;
  }

  private isListedAudience(selector: AudienceSelector): boolean {
    return (
      this.fields.id === '_id' && selector.clusters.length === 0 && selector.recipients.length <= POINT_LOOKUP_AUDIENCE
    );
  }

  /**
   * The audience (recipients ∪ clusters), each user once, streamed by one query: one pass over the store however
   * large the audience (an indexed range on MongoDB, a single scan on FerretDB, where a paged query would scan the
   * collection once per page). In `_id` order from `resume.after` on, or with `resume.skip` in the store's own order
   * (`audienceOrder`), which FerretDB answers batch by batch as it scans instead of after sorting everything. An
   * audience of listed ids alone (no clusters, at most `POINT_LOOKUP_AUDIENCE` of them) is read by point lookups on
   * `_id` instead, so that a small send costs the same whatever the size of the users collection.
   */
  async *streamAudience(selector: AudienceSelector, resume: AudienceResume): AsyncGenerator<AudienceMember> {
    const idOrder = 'after' in resume;
    const after = idOrder ? resume.after : null;
    const skip = resume.skip;
    if (this.isListedAudience(selector)) {
      for await (const member of this.listedAudience(selector.recipients, after)) {
        if (!skip?.has(member.userId)) yield member;
      }
      return;
    }
    const cursor = idOrder
      ? this.database.users
          .find({ $and: [this.audienceFilter(selector), afterCursor(after)] })
          .sort({ _id: 1 })
          .batchSize(1000)
      : this.database.users.find(this.audienceFilter(selector)).batchSize(1000);
    try {
      for await (const doc of cursor) {
        const userId = userIdToString(doc[this.fields.id] ?? doc._id);
        if (skip?.has(userId)) continue;
        yield { userId, user: doc, cursor: idOrder ? cursorOf(doc._id) : null };
      }
    } finally {
      await cursor.close();
    }
  }

  /**
   * The users of these ids by point lookups (a 24-hex id in both stored forms, as the audience query matches it), in
   * `_id` order after `after`: the same members, in the same order, as the query would stream.
   */
  private async *listedAudience(recipients: string[], after: AudienceCursor | null): AsyncGenerator<AudienceMember> {
    const found = new Map<string, UserDocument>();
    await mapWithConcurrency(idCandidates(recipients), POINT_LOOKUPS_IN_FLIGHT, async (candidate) => {
      const doc = await this.database.users.findOne({ _id: candidate });
      if (doc) found.set(idKey(doc._id), doc);
    });
    const docs = [...found.values()].sort((a, b) => compareIds(a._id, b._id));
    const start = after ? docs.findIndex((doc) => compareIds(doc._id, cursorValue(after)) > 0) : 0;
    for (const doc of start < 0 ? [] : docs.slice(start)) {
      yield { userId: userIdToString(doc._id), user: doc, cursor: cursorOf(doc._id) };
    }
  }

  /** The listed recipient ids that match no user. */
  async missingRecipients(recipients: string[]): Promise<string[]> {
    const found = await this.byIds(recipients, { [this.fields.id]: 1 });
    return recipients.filter((id) => !found.has(id));
  }

  /** Loads the given users, keyed by their string id. */
  async byIds(ids: string[], projection?: Document): Promise<Map<string, UserDocument>> {
    const found = new Map<string, UserDocument>();
    if (this.fields.id !== '_id') {
      // Another id field: one `$in` query per thousand ids (the product team indexes that field).
      for (let start = 0; start < ids.length; start += 1000) {
        const filter = { [this.fields.id]: { $in: idCandidates(ids.slice(start, start + 1000)) } };
        for (const doc of await this.database.users.find(filter, { projection }).toArray()) {
          found.set(userIdToString(doc[this.fields.id]), doc);
        }
      }
      return found;
    }
    await mapWithConcurrency(ids, POINT_LOOKUPS_IN_FLIGHT, async (id) => {
      // A 24-hex id is most often an ObjectId, but may be a plain string.
      for (const candidate of idCandidates([id]).reverse()) {
        const doc = await this.database.users.findOne({ _id: candidate }, { projection });
        if (doc) {
          found.set(id, doc);
          return;
        }
      }
    });
    return found;
  }
}
