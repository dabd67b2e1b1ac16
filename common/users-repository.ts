import { ObjectId, type Document, type Filter } from 'mongodb';
import type { ServiceConfig } from './config';
import type { Database } from './db';
import { isObjectIdHex } from './ids';

/** Where paging through an audience stopped: the last `_id` seen, with its BSON type so it can be rebuilt. */
export interface AudienceCursor {
  type: 'objectId' | 'string' | 'number';
  value: string;
}

export interface AudiencePage {
  userIds: string[];
  next: AudienceCursor | null;
}

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

function afterCursor(cursor: AudienceCursor | null): Filter<Document> {
  if (!cursor) return {};
  const later = TYPE_ORDER.slice(TYPE_ORDER.indexOf(cursor.type) + 1);
  return {
    $or: [{ _id: { $gt: cursorValue(cursor) } }, ...later.map((type) => ({ _id: { $type: type } }))],
  } as Filter<Document>;
}

function cursorOf(id: unknown): AudienceCursor {
  if (id instanceof ObjectId) return { type: 'objectId', value: id.toHexString() };
  if (typeof id === 'number') return { type: 'number', value: String(id) };
  return { type: 'string', value: String(id) };
}

/** Reads users for the service; field names come from `userFields` (spec §3). */
export class UsersRepository {
  constructor(
    private readonly database: Database,
    private readonly fields: ServiceConfig['userFields'],
  ) {}

  private audienceFilter({ recipients, clusters }: AudienceSelector): Filter<Document> {
    const anyOf: Filter<Document>[] = [];
    if (recipients.length > 0) anyOf.push({ [this.fields.id]: { $in: idCandidates(recipients) } });
    if (clusters.length > 0) anyOf.push({ [this.fields.clusters]: { $in: clusters } });
    if (anyOf.length === 0) return { _id: { $exists: false } };
    return anyOf.length === 1 ? anyOf[0] : { $or: anyOf };
  }

  /**
   * One page of the audience (recipients ∪ clusters), each user once, in `_id` order so that paging is
   * stable while users are added. Returns ids only: user documents never enter workflow history.
   */
  async audiencePage(selector: AudienceSelector, after: AudienceCursor | null, limit: number): Promise<AudiencePage> {
    const filter = { $and: [this.audienceFilter(selector), afterCursor(after)] };
    const docs = await this.database.users
      .find(filter, { projection: { _id: 1, [this.fields.id]: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    const userIds = docs.map((doc) => userIdToString(doc[this.fields.id] ?? doc._id));
    const last = docs.at(-1);
    return { userIds, next: docs.length === limit && last ? cursorOf(last._id) : null };
  }

  /** The listed recipient ids that match no user. */
  async missingRecipients(recipients: string[]): Promise<string[]> {
    const found = new Set<string>();
    for (let start = 0; start < recipients.length; start += 1000) {
      const slice = recipients.slice(start, start + 1000);
      const docs = await this.database.users
        .find({ [this.fields.id]: { $in: idCandidates(slice) } }, { projection: { [this.fields.id]: 1 } })
        .toArray();
      for (const doc of docs) found.add(userIdToString(doc[this.fields.id]));
    }
    return recipients.filter((id) => !found.has(id));
  }

  /** Loads the given users, keyed by their string id. */
  async byIds(ids: string[]): Promise<Map<string, Document>> {
    const docs = await this.database.users.find({ [this.fields.id]: { $in: idCandidates(ids) } }).toArray();
    return new Map(docs.map((doc) => [userIdToString(doc[this.fields.id]), doc]));
  }
}
