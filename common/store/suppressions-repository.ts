import type { Collection } from 'mongodb';
import type { Channel } from '../config/config';
import type { Database } from './db';
import { findByIds } from './find-by-ids';

/** What put an address on the suppression list. */
export type SuppressionSource =
  'api' | 'provider-opt-out' | 'inbound-stop' | 'hard-bounce' | 'complaint' | 'unsubscribe';

/** An address that must not be contacted on one channel (`suppressions`), keyed `<channel>|<normal address>`. */
export interface SuppressionDocument {
  _id: string;
  channel: Channel;
  /** In its normal form (`normalAddress`). */
  address: string;
  reason: string;
  source: SuppressionSource;
  createdAt: Date;
}

export const suppressionKey = (channel: Channel, address: string): string => `${channel}|${address}`;

/** At most this many suppressions in one `GET /suppressions` answer. */
const LIST_LIMIT = 100;

/**
 * The suppression list: addresses given in their normal form (`normalAddress`, which callers apply), one document
 * each per channel. Writes are keyed inserts, so a repeat or a race leaves one entry, the first.
 */
export class SuppressionsRepository {
  private readonly suppressions: Collection<SuppressionDocument>;

  constructor(database: Pick<Database, 'suppressions'>) {
    this.suppressions = database.suppressions;
  }

  /** Adds the address (kept as first added when it is there already); answers the entry as stored. */
  async add(
    channel: Channel,
    address: string,
    reason: string,
    source: SuppressionSource,
  ): Promise<SuppressionDocument> {
    const _id = suppressionKey(channel, address);
    await this.suppressions.updateOne(
      { _id },
      { $setOnInsert: { channel, address, reason, source, createdAt: new Date() } },
      { upsert: true },
    );
    return (await this.suppressions.findOne({ _id }))!;
  }

  /** Suppressions by channel and/or address, newest first. */
  async list(filter: { channel?: Channel; address?: string }): Promise<SuppressionDocument[]> {
    const query: Partial<SuppressionDocument> = {};
    if (filter.channel) query.channel = filter.channel;
    if (filter.address) query.address = filter.address;
    return this.suppressions.find(query).sort({ createdAt: -1 }).limit(LIST_LIMIT).toArray();
  }

  /** Removes the address from the channel's list; false when it was not on it. */
  async remove(channel: Channel, address: string): Promise<boolean> {
    return (await this.suppressions.deleteOne({ _id: suppressionKey(channel, address) })).deletedCount > 0;
  }

  /**
   * Removes the address from the channel's list only when `source` put it there (an opt-in reply takes back an
   * opt-out reply, never an entry an admin or a bounce made); false otherwise.
   */
  async removeAddedBy(channel: Channel, address: string, source: SuppressionSource): Promise<boolean> {
    const removed = await this.suppressions.deleteOne({ _id: suppressionKey(channel, address), source });
    return removed.deletedCount > 0;
  }

  /** Which of the addresses (normal forms) are suppressed on the channel, read by key. */
  async suppressedAmong(channel: Channel, addresses: string[]): Promise<Set<string>> {
    if (addresses.length === 0) return new Set();
    const keys = [...new Set(addresses)].map((address) => suppressionKey(channel, address));
    const found = await findByIds(this.suppressions, keys, { projection: { address: 1 } });
    return new Set(found.map(({ address }) => address));
  }
}
