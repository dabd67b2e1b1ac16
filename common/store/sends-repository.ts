import type { Filter } from 'mongodb';
import { isDuplicateKey, type Database } from './db';
import { sendRetentionFrom } from './retention';
import type { DeliveryCounts, Failure, SendDocument, SendStatus } from '../domain/send-types';

/** Filters of `GET /sends`, newest first (scheduled sends: soonest `sendAt` first). */
export interface SendListFilter {
  status?: SendStatus;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
  /** Due at or after (scheduled sends). */
  sendAtFrom?: Date;
  /** Due before (scheduled sends). */
  sendAtTo?: Date;
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
      await this.database.sends.insertOne({ ...send, retentionFrom: sendRetentionFrom(send) });
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

  /**
   * A page of sends, newest first, without the request's recipients and data (they can be large). The scheduled ones
   * come in the order they go out, soonest first.
   */
  list(filter: SendListFilter): Promise<SendDocument[]> {
    const query: Filter<SendDocument> = {};
    if (filter.status) query.status = filter.status;
    if (filter.from || filter.to) {
      query.createdAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    }
    if (filter.sendAtFrom || filter.sendAtTo) {
      query.sendAt = {
        ...(filter.sendAtFrom ? { $gte: filter.sendAtFrom } : {}),
        ...(filter.sendAtTo ? { $lt: filter.sendAtTo } : {}),
      };
    }
    return this.database.sends
      .find(query, { projection: { 'request.recipients': 0, 'request.data': 0, failures: 0 } })
      .sort(filter.status === 'scheduled' ? { sendAt: 1, _id: 1 } : { createdAt: -1, _id: 1 })
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

  /** The sends of a cancellation key that are still to cancel (scheduled or running), oldest first. */
  cancellableByKey(cancellationKey: string): Promise<Pick<SendDocument, '_id' | 'status'>[]> {
    return this.database.sends
      .find(
        { cancellationKey, status: { $in: ['scheduled', 'running'] } },
        { projection: { _id: 1, status: 1, createdAt: 1 } },
      )
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
  }

  /** A scheduled send that fired: `running` from now, at the `sendAt` it waited for. */
  async fired(sendId: string, sendAt: Date): Promise<void> {
    await this.database.sends.updateOne(
      { _id: sendId, status: 'scheduled' },
      { $set: { status: 'running', sendAt, retentionFrom: sendAt, updatedAt: new Date() } },
    );
  }

  /** A scheduled send's new `sendAt`, once its workflow has taken it; nothing when it has fired meanwhile. */
  async rescheduled(sendId: string, sendAt: Date): Promise<void> {
    await this.database.sends.updateOne(
      { _id: sendId, status: 'scheduled' },
      { $set: { sendAt, retentionFrom: sendAt, updatedAt: new Date() } },
    );
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
