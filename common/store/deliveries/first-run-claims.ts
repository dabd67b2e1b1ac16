import { createHash } from 'node:crypto';
import { mapWithConcurrency } from '../../toolkit/concurrency';
import type { Channel } from '../../config/config';
import { insertWhereFree, isDuplicateKey, POINT_LOOKUPS_IN_FLIGHT, type Database } from '../db';
import { firstRunClaimKey } from '../../domain/send-types';

/** The key of a dispatch batch's claim (`dispatch_claims`): its send, its channel and a hash of its user ids. */
export function dispatchBatchKey(sendId: string, channel: Channel, userIds: string[]): string {
  const digest = createHash('sha256').update(userIds.join('\n')).digest('base64url');
  return `${sendId}|${channel}|${digest}`;
}

/**
 * Who may send a first run's delivery, decided in `dispatch_claims` before any provider call: a dispatch batch claims
 * itself (`claimDispatch`), then each of its deliveries (`claimDeliveries`); a delivery whose claim another batch
 * holds is left to it.
 */
export class FirstRunClaims {
  constructor(private readonly database: Database) {}

  /**
   * Marks a dispatch batch (these users on this channel) as started, before any provider call. True the first
   * time; false when the same batch was claimed before, i.e. this is a retry of the activity or a replay of
   * the workflow, which must read the ledger before sending.
   */
  async claimDispatch(sendId: string, channel: Channel, userIds: string[]): Promise<boolean> {
    try {
      await this.database.dispatchClaims.insertOne({
        _id: dispatchBatchKey(sendId, channel, userIds),
        sendId,
        channel,
        size: userIds.length,
        createdAt: new Date(),
      });
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /**
   * Claims one channel's deliveries of a first run for `owner` (a dispatch batch's key, `dispatchBatchKey`, or the
   * send's unknown recipients) before any provider call or ledger write: one `insertMany` of a claim per delivery
   * (`firstRunClaimKey`). Returns the users whose claim another owner holds, read by point lookups for the duplicate
   * keys only: those are left to it. A claim the same owner inserted before (an attempt before this one) stays its own.
   * `claimedBefore`: the owner has claimed before (an attempt after the first), so the claims are read first and only
   * the missing ones inserted, rather than a write that fails on nearly every key.
   */
  async claimDeliveries(
    sendId: string,
    channel: Channel,
    owner: string,
    userIds: string[],
    claimedBefore = false,
  ): Promise<Set<string>> {
    const heldElsewhere = new Set<string>();
    const ownerOf = async (userId: string) =>
      (
        await this.database.dispatchClaims.findOne(
          { _id: firstRunClaimKey(sendId, channel, userId) },
          { projection: { owner: 1 } },
        )
      )?.owner;
    let unclaimed = userIds;
    if (claimedBefore) {
      const owners = await mapWithConcurrency(userIds, POINT_LOOKUPS_IN_FLIGHT, ownerOf);
      unclaimed = userIds.filter((_, index) => owners[index] === undefined);
      userIds.forEach((userId, index) => {
        if (owners[index] !== undefined && owners[index] !== owner) heldElsewhere.add(userId);
      });
    }
    if (unclaimed.length === 0) return heldElsewhere;
    const now = new Date();
    const claims = unclaimed.map((userId) => ({
      _id: firstRunClaimKey(sendId, channel, userId),
      sendId,
      channel,
      size: 1,
      owner,
      createdAt: now,
    }));
    const taken = await insertWhereFree(this.database.dispatchClaims, claims);
    await mapWithConcurrency(taken, POINT_LOOKUPS_IN_FLIGHT, async (index) => {
      if ((await ownerOf(unclaimed[index])) !== owner) heldElsewhere.add(unclaimed[index]);
    });
    return heldElsewhere;
  }

  /**
   * How many of a send's deliveries its first run has claimed: each is claimed before its provider call, so the claims
   * without a ledger entry are the calls in flight (or about to be recorded). Read by the range of the send's keys
   * (`<sendId>|…`) on `_id`, the one index of `dispatch_claims`; for a cancel only.
   */
  claimedDeliveries(sendId: string): Promise<number> {
    return this.database.dispatchClaims.countDocuments({
      _id: { $gt: `${sendId}|`, $lt: `${sendId}|\uffff` },
      owner: { $exists: true },
    });
  }
}
