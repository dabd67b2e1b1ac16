import { createHash } from 'node:crypto';
import type { Filter } from 'mongodb';
import { mapWithConcurrency } from '../toolkit/concurrency';
import type { Channel } from '../config/config';
import { insertWhereFree, isDuplicateKey, POINT_LOOKUPS_IN_FLIGHT, type Database } from './db';
import {
  addCounts,
  deliveryKey,
  firstRunClaimKey,
  type DeliveryCounts,
  type DeliveryDocument,
  type DeliveryStatus,
  type Failure,
  type StatusCounts,
} from '../domain/send-types';

/** DeliveriesRepository updates in flight per call (see `DeliveriesRepository.update`: FerretDB's connection pool bounds them). */
const UPDATES_IN_FLIGHT = 4;
/** The failures a batch keeps, and a send's result and document carry: the first in key order. */
export const FAILURES_PER_BATCH = 100;

/**
 * The first `FAILURES_PER_BATCH` of one send's failures in its ledger's key order (`<sendId>|<channel>|<userId>`, the
 * send's own prefix left out), as the ledger lists them.
 */
function firstFailures(failures: Failure[]): Failure[] {
  return failures
    .map((failure) => ({ failure, key: `${failure.channel}|${failure.userId}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, FAILURES_PER_BATCH)
    .map(({ failure }) => failure);
}

/** The outcome of one attempt to deliver to one (user, channel) pair. */
export interface DeliveryOutcome {
  userId: string;
  channel: Channel;
  status: DeliveryStatus;
  providerMessageId?: string;
  error?: string;
  code?: string;
  permanent?: boolean;
  /** False for outcomes that record no provider call (skipped users, users not found). */
  attempted: boolean;
  /** A critical send's delivery, which went whatever the user's preferences say (docs/preferences.md). */
  critical?: boolean;
  /** A `deferred` delivery: when the user's quiet hours end. */
  releaseAt?: Date;
}

/** The key of a dispatch batch's claim (`dispatch_claims`): its send, its channel and a hash of its user ids. */
export function dispatchBatchKey(sendId: string, channel: Channel, userIds: string[]): string {
  const digest = createHash('sha256').update(userIds.join('\n')).digest('base64url');
  return `${sendId}|${channel}|${digest}`;
}

/**
 * The deliveries ledger (docs/internals.md): one entry per (send, channel, user). Every write is idempotent on its own
 * (inserts keyed by the delivery's unique id, updates by that id) because FerretDB has no transactions and activities
 * may run twice.
 *
 * Who may send a delivery is decided in `dispatch_claims`, not in the ledger: a dispatch batch claims itself
 * (`claimDispatch`), and a first run's batch claims each of its deliveries (`claimDeliveries`, one `insertMany`) before
 * any provider call; a delivery whose claim another batch holds is left to it. A first run's entries are written only
 * by their claim's holder, so a batch that claims itself for the first time has no entry to read, and its outcomes
 * are inserted with one `insertMany` per flush (`record`). Retry rounds claim the failures they take in the same
 * collection (`claimFailedForRound`).
 *
 * Statuses only move forward (`pending` → `sent`/`failed`/`skipped`, never back): an outcome whose entry exists (the
 * insert's duplicate key) is written only when that entry reads `pending`, so a late outcome of an attempt Temporal
 * already gave up on (a transient failure arriving after another attempt recorded `sent`) changes nothing. Only a
 * retry round (`claimFailedForRound`, `POST /sends/:id/retry`) moves `failed` back to `pending`, on purpose: its own
 * outcomes then move that entry forward again; so does the release of a delivery held by quiet hours
 * (`releaseDeferred`: `deferred` back to `pending`).
 */
export class DeliveriesRepository {
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

  /** Current ledger entries of the given users on one channel, keyed by user id. */
  async deliveryStates(sendId: string, channel: Channel, userIds: string[]): Promise<Map<string, DeliveryDocument>> {
    const states = new Map<string, DeliveryDocument>();
    await mapWithConcurrency(userIds, POINT_LOOKUPS_IN_FLIGHT, async (userId) => {
      const doc = await this.database.deliveries.findOne({ _id: deliveryKey(sendId, channel, userId) });
      if (doc) states.set(userId, doc);
    });
    return states;
  }

  /**
   * Writes outcomes, forward only: new entries with one `insertMany`; a duplicate key is an entry written before (a
   * transient outcome of an earlier attempt, a retry round's claim, or a final outcome) and is updated only while it
   * reads `pending`, so an outcome already recorded is never overwritten.
   */
  async record(sendId: string, outcomes: DeliveryOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const now = new Date();
    const taken = await insertWhereFree(
      this.database.deliveries,
      outcomes.map((outcome) => ({
        _id: deliveryKey(sendId, outcome.channel, outcome.userId),
        sendId,
        userId: outcome.userId,
        channel: outcome.channel,
        status: outcome.status,
        attempts: outcome.attempted ? 1 : 0,
        error: outcome.error,
        code: outcome.code,
        permanent: outcome.permanent ?? false,
        ...(outcome.providerMessageId ? { providerMessageId: outcome.providerMessageId } : {}),
        ...(outcome.critical ? { critical: true } : {}),
        ...(outcome.releaseAt ? { releaseAt: outcome.releaseAt } : {}),
        createdAt: now,
        updatedAt: now,
        ...(outcome.status === 'sent' ? { sentAt: now } : {}),
      })),
    );
    if (taken.length === 0) return;
    const pendingOnes = await this.stillPending(
      sendId,
      taken.map((index) => outcomes[index]),
    );
    await this.update(sendId, pendingOnes, now);
  }

  /** The outcomes whose entries are still `pending`, read by point lookups on `_id`. */
  private async stillPending(sendId: string, outcomes: DeliveryOutcome[]): Promise<DeliveryOutcome[]> {
    const pending = new Set<string>();
    await mapWithConcurrency(outcomes, POINT_LOOKUPS_IN_FLIGHT, async (outcome) => {
      const _id = deliveryKey(sendId, outcome.channel, outcome.userId);
      const doc = await this.database.deliveries.findOne({ _id }, { projection: { status: 1 } });
      if (doc?.status === 'pending') pending.add(_id);
    });
    return outcomes.filter((outcome) => pending.has(deliveryKey(sendId, outcome.channel, outcome.userId)));
  }

  /**
   * Keyed updates of existing entries read as `pending` (`record`). They filter on `_id` alone: FerretDB
   * serves a filter from its `_id` index only when `_id` is all it names (with `status` too, each update scanned the
   * collection: 0.25 s at 2,500 entries), and its updates are read-modify-write anyway, no more atomic than a read
   * then a write.
   */
  private async update(sendId: string, outcomes: DeliveryOutcome[], now: Date): Promise<void> {
    // One command per entry, a few in flight, never one command of many updates: FerretDB 1.24 keeps each statement's
    // query open until its whole update command ends, one SQLite connection each, out of a pool of 100 per database;
    // a few dispatches' batches of updates took them all and every query of the database waited forever.
    await mapWithConcurrency(outcomes, UPDATES_IN_FLIGHT, async (outcome) => {
      await this.database.deliveries.updateOne(
        { _id: deliveryKey(sendId, outcome.channel, outcome.userId) },
        {
          $set: {
            status: outcome.status,
            updatedAt: now,
            error: outcome.error,
            code: outcome.code,
            permanent: outcome.permanent ?? false,
            ...(outcome.providerMessageId ? { providerMessageId: outcome.providerMessageId } : {}),
            ...(outcome.critical ? { critical: true } : {}),
            ...(outcome.releaseAt ? { releaseAt: outcome.releaseAt } : {}),
            ...(outcome.status === 'sent' ? { sentAt: now } : {}),
          },
          $inc: { attempts: outcome.attempted ? 1 : 0 },
        },
      );
    });
  }

  /**
   * Stores the final counts of one batch of a send (docs/internals.md: counts kept as the send goes), and its first
   * failures in key order: a dispatch batch of an audience page (`batchCountsKey`) or the send's unknown recipients
   * (`missingRecipientsKey`). A replace keyed by the batch, computed from the ledger's states, so an activity retry or
   * a replay that writes it again writes the same thing.
   */
  async recordBatch(
    key: string,
    sendId: string,
    channel: Channel,
    counts: StatusCounts,
    failures: Failure[],
  ): Promise<void> {
    await this.database.batchCounts.replaceOne(
      { _id: key },
      { sendId, channel, counts, failures: firstFailures(failures), createdAt: new Date() },
      { upsert: true },
    );
  }

  /**
   * A send's totals without totalling its ledger: the counts its workflow kept (`kept`, not changed) plus the stored
   * counts of these batches, by point lookups (one per batch, never a scan), with the first `FAILURES_PER_BATCH` of
   * their failures in key order. Null when a batch is missing (dispatched by a version that did not store them): the
   * caller then totals the ledger instead.
   */
  async keptTotals(
    kept: DeliveryCounts,
    batchKeys: string[],
  ): Promise<{ counts: DeliveryCounts; failures: Failure[] } | null> {
    const counts = structuredClone(kept);
    let complete = true;
    const failures: Failure[] = [];
    await mapWithConcurrency(batchKeys, POINT_LOOKUPS_IN_FLIGHT, async (_id) => {
      const doc = await this.database.batchCounts.findOne({ _id });
      if (!doc) {
        complete = false;
        return;
      }
      addCounts(counts, doc.channel, doc.counts);
      failures.push(...(doc.failures ?? []));
    });
    return complete ? { counts, failures: firstFailures(failures) } : null;
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
  ): Promise<{ byChannel: Partial<Record<Channel, string[]>>; next: string | null }> {
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
      const taken = new Set(await insertWhereFree(this.database.dispatchClaims, claims));
      // A claim inserted before is ours when this round inserted it (an activity retry), another round's otherwise.
      const ours = await mapWithConcurrency(
        claims.map((claim, index) => ({ claim, index })),
        POINT_LOOKUPS_IN_FLIGHT,
        async ({ claim, index }) =>
          !taken.has(index) || (await this.database.dispatchClaims.findOne({ _id: claim._id }))?.round === round,
      );
      const mine = candidates.filter((_, index) => ours[index]).map((doc) => doc._id);
      if (mine.length > 0) {
        await this.database.deliveries.updateMany(
          { _id: { $in: mine }, status: 'failed' },
          { $set: { status: 'pending', attempts: 0, permanent: false, retryRound: round, updatedAt: now } },
        );
      }
    }
    return this.pageByChannel({ sendId, retryRound: round, ...afterKey }, limit);
  }

  /**
   * Releases one page of a send's `deferred` deliveries whose quiet hours end by `minute` (`_id` after `after`): each
   * back to `pending`, marked with the minute (`releasedAt`), and returns the page, to be dispatched as any other. Each
   * is claimed first by a keyed insert (`<ledger key>|deferred` in `dispatch_claims`), which the send's cancel
   * (`cancelDeferred`) also tries: only one of them takes it, on FerretDB too, where an update is not atomic. An
   * activity retry finds its own claims and returns the same page.
   */
  async releaseDeferred(
    sendId: string,
    minute: Date,
    after: string | null,
    limit: number,
  ): Promise<{ byChannel: Partial<Record<Channel, string[]>>; next: string | null }> {
    const afterKey = after ? { _id: { $gt: after } } : {};
    const mine = await this.claimDeferred(sendId, { releaseAt: { $lte: minute }, ...afterKey }, limit, 'release');
    if (mine.length > 0) {
      await this.database.deliveries.updateMany(
        { _id: { $in: mine }, status: 'deferred' },
        { $set: { status: 'pending', releasedAt: minute, updatedAt: new Date() } },
      );
    }
    return this.pageByChannel({ sendId, releasedAt: minute, ...afterKey }, limit);
  }

  /** One page of the entries `filter` finds, in key order, as the users of each channel, and where the next starts. */
  private async pageByChannel(
    filter: Filter<DeliveryDocument>,
    limit: number,
  ): Promise<{ byChannel: Partial<Record<Channel, string[]>>; next: string | null }> {
    const page = await this.database.deliveries
      .find(filter, { projection: { _id: 1, userId: 1, channel: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    const byChannel: Partial<Record<Channel, string[]>> = {};
    for (const doc of page) (byChannel[doc.channel] ??= []).push(doc.userId);
    return { byChannel, next: nextPageCursor(page, limit) };
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
    const taken = new Set(await insertWhereFree(this.database.dispatchClaims, claims));
    const ours = await mapWithConcurrency(
      claims.map((claim, index) => ({ claim, index })),
      POINT_LOOKUPS_IN_FLIGHT,
      async ({ claim, index }) =>
        !taken.has(index) || (await this.database.dispatchClaims.findOne({ _id: claim._id }))?.deferredTo === fate,
    );
    return candidates.filter((_, index) => ours[index]).map((doc) => doc._id);
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

/**
 * Where the page after this one starts: the last key of a full page, null after a short one. A full last page is
 * followed by an empty one (knowing it is the last would cost a count, which FerretDB answers by scanning).
 */
export function nextPageCursor(page: { _id: string }[], limit: number): string | null {
  return page.length === limit && page.length > 0 ? page[page.length - 1]._id : null;
}

export const countFailures = (counts: DeliveryCounts): number =>
  Object.values(counts).reduce((sum, perChannel) => sum + (perChannel?.failed ?? 0), 0);

export const countSent = (counts: DeliveryCounts): number =>
  Object.values(counts).reduce((sum, perChannel) => sum + (perChannel?.sent ?? 0), 0);
