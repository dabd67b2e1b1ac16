import type { Collection } from 'mongodb';
import { isDuplicateKey, type Database } from './db';

/**
 * How stale a dispatch's "not cancelled" may be: a cancel takes hold in every dispatch within this long of its record
 * being written (activities/dispatch/cancelled-sends.ts), and `DELETE /sends/:id` waits this long before it counts.
 */
export const CANCEL_READ_MAX_AGE_MS = 200;

/** The cancel of one send (`send_cancellations`, `_id` = the send id), written before anything else is told. */
export interface SendCancellationDocument {
  _id: string;
  /** The `cancellationKey` of `POST /sends/cancel` that cancelled it; absent for `DELETE /sends/:id`. */
  cancellationKey?: string;
  createdAt: Date;
  /**
   * From when the send can no longer run, so the record is no longer read: the cancel, or the `sendAt` of a send
   * cancelled while it waited, whichever is later. Its retention counts from then (docs/operations.md "Retention").
   */
  retentionFrom: Date;
}

/**
 * The `send_cancellations` collection (docs/operating-sends.md "Send later and cancel"): the one record of a send's
 * cancel, which the send's timer, its dispatches (before each provider call) and `finishSend` read. Apart from the send
 * document on purpose: the workflow writes that document while it runs, and FerretDB applies an update by rewriting
 * the whole document, so a cancel written there could be lost to a concurrent update. A keyed insert: cancelling twice
 * keeps the first record.
 */
export class SendCancellationsRepository {
  private readonly collection: Collection<SendCancellationDocument>;

  constructor(database: Pick<Database, 'sendCancellations'>) {
    this.collection = database.sendCancellations;
  }

  /** Records the cancel of `sendId`, which was to go out at `sendAt`; false when it was cancelled before. */
  async record(sendId: string, cancellationKey?: string, sendAt?: Date): Promise<boolean> {
    const createdAt = new Date();
    try {
      await this.collection.insertOne({
        _id: sendId,
        ...(cancellationKey !== undefined ? { cancellationKey } : {}),
        createdAt,
        retentionFrom: sendAt !== undefined && sendAt > createdAt ? sendAt : createdAt,
      });
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      return false;
    }
  }

  get(sendId: string): Promise<SendCancellationDocument | null> {
    return this.collection.findOne({ _id: sendId });
  }

  async isCancelled(sendId: string): Promise<boolean> {
    return (await this.collection.countDocuments({ _id: sendId }, { limit: 1 })) > 0;
  }
}
