import type { Filter } from 'mongodb';
import { isDuplicateKey, type Database } from './db';
import type { DeliveryCounts, Failure, SendDocument, SendStatus } from '../domain/send-types';

/** Filters of `GET /sends`, newest first. */
export interface SendListFilter {
  status?: SendStatus;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
  limit: number;
  skip: number;
}

/**
 * The `sends` collection: one document per send (the request, stored once and never copied into workflow
 * history), its status and totals. Every write is keyed by the send id, so repeating one is harmless.
 */
export class SendsRepository {
  constructor(private readonly database: Database) {}

  /**
   * Inserts the send unless a document with its id exists (a repeated idempotent request keeps the first). A keyed
   * insert, not an upsert: FerretDB's upsert is not atomic, so concurrent identical requests could fail on it with a
   * duplicate key (a 500) where this takes the first and leaves it.
   */
  async create(send: SendDocument): Promise<void> {
    try {
      await this.database.sends.insertOne(send);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
  }

  get(sendId: string): Promise<SendDocument | null> {
    return this.database.sends.findOne({ _id: sendId });
  }

  async update(sendId: string, fields: Partial<SendDocument>): Promise<void> {
    await this.database.sends.updateOne({ _id: sendId }, { $set: { ...fields, updatedAt: new Date() } });
  }

  /** A page of sends, newest first, without the request's recipients and data (they can be large). */
  list(filter: SendListFilter): Promise<SendDocument[]> {
    const query: Filter<SendDocument> = {};
    if (filter.status) query.status = filter.status;
    if (filter.from || filter.to) {
      query.createdAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    }
    return this.database.sends
      .find(query, { projection: { 'request.recipients': 0, 'request.data': 0, failures: 0 } })
      .sort({ createdAt: -1, _id: 1 })
      .skip(filter.skip)
      .limit(filter.limit)
      .toArray();
  }

  /** A page of the `running` sends in `_id` order after `after` (the reconciler pages through all of them). */
  runningAfter(after: string | null, limit: number): Promise<SendDocument[]> {
    return this.database.sends
      .find(
        { status: 'running', ...(after !== null ? { _id: { $gt: after } } : {}) },
        { projection: { 'request.recipients': 0, 'request.data': 0, failures: 0 } },
      )
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }

  async linkRetry(sendId: string, retryId: string): Promise<void> {
    await this.database.sends.updateOne(
      { _id: sendId },
      { $addToSet: { retries: retryId }, $set: { updatedAt: new Date() } },
    );
  }

  /** Closes a send with its totals; `failures`, its first failed deliveries, when they are known. */
  async finish(
    sendId: string,
    status: SendStatus,
    counts: DeliveryCounts,
    recipientCount: number,
    failures?: Failure[],
  ): Promise<void> {
    const now = new Date();
    await this.database.sends.updateOne(
      { _id: sendId },
      { $set: { status, counts, recipientCount, ...(failures ? { failures } : {}), updatedAt: now, completedAt: now } },
    );
  }
}
