import type { Filter } from 'mongodb';
import type { Database } from '../db';
import type { DeliveryDocument } from '../../domain/send-types';
import { nextPageCursor, pageByChannel, type PageByChannel } from './ledger-pages';
import { takeClaims } from './take-claims';

/**
 * Deliveries held by the user's quiet hours (`deferred`, with the minute they end in `releaseAt`): released back to
 * `pending` when that minute comes, or cancelled with their send, each exactly once.
 */
export class DeferredDeliveries {
  constructor(private readonly database: Database) {}

  /**
   * Releases one page of a send's `deferred` deliveries whose quiet hours end by `minute` (`_id` after `after`): each
   * back to `pending`, marked with the minute (`releasedAt`), and returns the page, to be dispatched as any other. Each
   * is claimed first by a keyed insert (`<ledger key>|deferred` in `dispatch_claims`), which the send's cancel
   * (`cancelDeferred`) also tries: only one of them takes it, on FerretDB too, where an update is not atomic. An
   * activity retry finds its own claims and returns the same page.
   */
  async releaseDeferred(sendId: string, minute: Date, after: string | null, limit: number): Promise<PageByChannel> {
    const afterKey = after ? { _id: { $gt: after } } : {};
    const mine = await this.claimDeferred(sendId, { releaseAt: { $lte: minute }, ...afterKey }, limit, 'release');
    if (mine.length > 0) {
      await this.database.deliveries.updateMany(
        { _id: { $in: mine }, status: 'deferred' },
        { $set: { status: 'pending', releasedAt: minute, updatedAt: new Date() } },
      );
    }
    return pageByChannel(this.database.deliveries, { sendId, releasedAt: minute, ...afterKey }, limit);
  }

  /**
   * The send was cancelled: one page of its `deferred` deliveries (`_id` after `after`), whatever their minute, is
   * recorded `cancelled`, each claimed as `releaseDeferred` claims them. Returns how many this call took and where
   * the next page starts.
   */
  async cancelDeferred(
    sendId: string,
    after: string | null,
    limit: number,
  ): Promise<{ cancelled: number; next: string | null }> {
    const afterKey = after ? { _id: { $gt: after } } : {};
    const candidates = await this.database.deliveries
      .find({ sendId, status: 'deferred', ...afterKey }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    const mine = await this.claimDeferred(sendId, { _id: { $in: candidates.map((doc) => doc._id) } }, limit, 'cancel');
    if (mine.length > 0) {
      await this.database.deliveries.updateMany(
        { _id: { $in: mine }, status: 'deferred' },
        {
          $set: {
            status: 'cancelled',
            code: 'CANCELLED',
            error: 'the send was cancelled while the delivery waited for the end of quiet hours',
            updatedAt: new Date(),
          },
        },
      );
    }
    return { cancelled: mine.length, next: nextPageCursor(candidates, limit) };
  }

  /** Claims the `deferred` entries `filter` finds for `fate`; returns the keys this fate holds (taken now or before). */
  private async claimDeferred(
    sendId: string,
    filter: Filter<DeliveryDocument>,
    limit: number,
    fate: 'release' | 'cancel',
  ): Promise<string[]> {
    const candidates = await this.database.deliveries
      .find({ sendId, status: 'deferred', ...filter }, { projection: { _id: 1, channel: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    if (candidates.length === 0) return [];
    const now = new Date();
    const claims = candidates.map((doc) => ({
      _id: `${doc._id}|deferred`,
      sendId,
      channel: doc.channel,
      size: 1,
      deferredTo: fate,
      createdAt: now,
    }));
    const ours = await takeClaims(this.database.dispatchClaims, claims, (held) => held?.deferredTo === fate);
    return candidates.filter((_, index) => ours[index]).map((doc) => doc._id);
  }
}
