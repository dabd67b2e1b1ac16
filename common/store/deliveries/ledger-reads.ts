import type { Filter } from 'mongodb';
import type { Channel } from '../../config/config';
import type { Database } from '../db';
import type { DeliveryCounts, DeliveryDocument, DeliveryStatus, Failure } from '../../domain/send-types';
import { nextPageCursor } from './ledger-pages';

/** A send's ledger as the API and a send's end read it: totals, failures and pages (scans on FerretDB: off the hot path). */
export class LedgerReads {
  constructor(private readonly database: Database) {}

  /** counts[channel][status] for one send, by totalling its ledger (a scan on FerretDB: not on a send's hot path). */
  async counts(sendId: string): Promise<DeliveryCounts> {
    const rows = await this.database.deliveries
      .aggregate<{ _id: { channel: Channel; status: DeliveryStatus }; count: number }>([
        { $match: { sendId } },
        { $group: { _id: { channel: '$channel', status: '$status' }, count: { $sum: 1 } } },
      ])
      .toArray();
    const counts: DeliveryCounts = {};
    for (const row of rows) {
      const perChannel = (counts[row._id.channel] ??= {});
      perChannel[row._id.status] = row.count;
    }
    return counts;
  }

  async failures(sendId: string, limit: number): Promise<Failure[]> {
    const docs = await this.database.deliveries
      .find({ sendId, status: 'failed' })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map((doc) => ({
      userId: doc.userId,
      channel: doc.channel,
      error: doc.error ?? 'failed',
      code: doc.code,
    }));
  }

  /** One page of a send's deliveries, in key order; `cursor` is the last key of the previous page. */
  async deliveries(
    sendId: string,
    options: { status?: DeliveryStatus; channel?: Channel; cursor?: string; limit: number },
  ): Promise<{ deliveries: DeliveryDocument[]; nextCursor: string | null }> {
    const filter: Filter<DeliveryDocument> = { sendId };
    if (options.status) filter.status = options.status;
    if (options.channel) filter.channel = options.channel;
    if (options.cursor) filter._id = { $gt: options.cursor };
    const deliveries = await this.database.deliveries.find(filter).sort({ _id: 1 }).limit(options.limit).toArray();
    return { deliveries, nextCursor: nextPageCursor(deliveries, options.limit) };
  }
}

export const countFailures = (counts: DeliveryCounts): number =>
  Object.values(counts).reduce((sum, perChannel) => sum + (perChannel?.failed ?? 0), 0);

export const countSent = (counts: DeliveryCounts): number =>
  Object.values(counts).reduce((sum, perChannel) => sum + (perChannel?.sent ?? 0), 0);
