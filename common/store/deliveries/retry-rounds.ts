import type { Database } from '../db';
import { pageByChannel, type PageByChannel } from './ledger-pages';
import { takeClaims } from './take-claims';

/**
 * Retry rounds (`POST /sends/:id/retry`): the only move of a status backwards, `failed` to `pending`, on purpose; the
 * round's own outcomes then move the entry forward again.
 */
export class RetryRounds {
  constructor(private readonly database: Database) {}

  /**
   * Claims one page of a send's failed deliveries for retry round `round`: resets them to `pending` with a fresh
   * attempt count, then returns the page (users that do not exist stay failed). Each is claimed by a keyed insert
   * first (in `dispatch_claims`, keyed by the delivery and the round that last claimed it): two rounds that both read
   * an entry as failed cannot both take it, on FerretDB too, where an update is not atomic. Only the round whose
   * claim was inserted resets the entry to `pending`; an activity retry of the same round finds its own claims.
   */
  async claimFailedForRound(
    sendId: string,
    round: number,
    after: string | null,
    limit: number,
  ): Promise<PageByChannel> {
    const afterKey = after ? { _id: { $gt: after } } : {};
    const candidates = await this.database.deliveries
      .find(
        { sendId, status: 'failed', code: { $ne: 'USER_NOT_FOUND' }, ...afterKey },
        { projection: { _id: 1, channel: 1, retryRound: 1 } },
      )
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    if (candidates.length > 0) {
      const now = new Date();
      const claims = candidates.map((doc) => ({
        // The failure this claim takes: the entry as the last round (or the first run, 0) left it.
        _id: `${doc._id}|retry-after-${doc.retryRound ?? 0}`,
        sendId,
        channel: doc.channel,
        size: 1,
        round,
        createdAt: now,
      }));
      // A claim inserted before is ours when this round inserted it (an activity retry), another round's otherwise.
      const ours = await takeClaims(this.database.dispatchClaims, claims, (held) => held?.round === round);
      const mine = candidates.filter((_, index) => ours[index]).map((doc) => doc._id);
      if (mine.length > 0) {
        await this.database.deliveries.updateMany(
          { _id: { $in: mine }, status: 'failed' },
          { $set: { status: 'pending', attempts: 0, permanent: false, retryRound: round, updatedAt: now } },
        );
      }
    }
    return pageByChannel(this.database.deliveries, { sendId, retryRound: round, ...afterKey }, limit);
  }

  /**
   * The distinct users whose deliveries retry round `round` claimed, on any channel (a user failed on two channels is
   * one recipient, whichever pages the round read them in). Totals the round's entries: a retry's end, not a hot path.
   */
  async roundRecipients(sendId: string, round: number): Promise<number> {
    const [row] = await this.database.deliveries
      .aggregate<{ recipients: number }>([
        { $match: { sendId, retryRound: round } },
        { $group: { _id: '$userId' } },
        { $count: 'recipients' },
      ])
      .toArray();
    return row?.recipients ?? 0;
  }

  /** Failed deliveries a retry would re-dispatch (not those of users that do not exist). */
  retryableFailures(sendId: string): Promise<number> {
    return this.database.deliveries.countDocuments({ sendId, status: 'failed', code: { $ne: 'USER_NOT_FOUND' } });
  }
}
