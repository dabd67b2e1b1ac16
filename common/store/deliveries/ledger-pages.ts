import type { Filter } from 'mongodb';
import type { Channel } from '../../config/config';
import type { Database } from '../db';
import type { DeliveryDocument } from '../../domain/send-types';

/** One page of ledger entries as the users of each channel, and where the next page starts. */
export interface PageByChannel {
  byChannel: Partial<Record<Channel, string[]>>;
  next: string | null;
}

/**
 * Where the page after this one starts: the last key of a full page, null after a short one. A full last page is
 * followed by an empty one (knowing it is the last would cost a count, which FerretDB answers by scanning).
 */
export function nextPageCursor(page: { _id: string }[], limit: number): string | null {
  return page.length === limit && page.length > 0 ? page[page.length - 1]._id : null;
}

/** One page of the entries `filter` finds, in key order, as the users of each channel, and where the next starts. */
export async function pageByChannel(
  deliveries: Database['deliveries'],
  filter: Filter<DeliveryDocument>,
  limit: number,
): Promise<PageByChannel> {
  const page = await deliveries
    .find(filter, { projection: { _id: 1, userId: 1, channel: 1 } })
    .sort({ _id: 1 })
    .limit(limit)
    .toArray();
  const byChannel: Partial<Record<Channel, string[]>> = {};
  for (const doc of page) (byChannel[doc.channel] ??= []).push(doc.userId);
  return { byChannel, next: nextPageCursor(page, limit) };
}
