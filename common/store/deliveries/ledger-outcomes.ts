import { mapWithConcurrency } from '../../toolkit/concurrency';
import type { Channel } from '../../config/config';
import { insertWhereFree, POINT_LOOKUPS_IN_FLIGHT, type Database } from '../db';
import { deliveryKey, type DeliveryDocument, type DeliveryStatus } from '../../domain/send-types';

/** Ledger updates in flight per call (see `LedgerOutcomes.update`: FerretDB's connection pool bounds them). */
const UPDATES_IN_FLIGHT = 4;

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

/**
 * The ledger's entries as dispatches write and read them: one per (send, channel, user), keyed by `deliveryKey`.
 * A first run's entries are written only by their claim's holder (`FirstRunClaims`), so a batch that claims itself for
 * the first time has no entry to read, and its outcomes are inserted with one `insertMany` per flush (`record`).
 */
export class LedgerOutcomes {
  constructor(private readonly database: Database) {}

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
        attempts: outcome.attempted ? 1 : 0,
        createdAt: now,
        ...recordedFields(outcome, now),
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
          $set: recordedFields(outcome, now),
          $inc: { attempts: outcome.attempted ? 1 : 0 },
        },
      );
    });
  }
}

/** What an outcome writes into its entry, inserted or updated alike. */
function recordedFields(outcome: DeliveryOutcome, now: Date) {
  return {
    status: outcome.status,
    updatedAt: now,
    error: outcome.error,
    code: outcome.code,
    permanent: outcome.permanent ?? false,
    ...(outcome.providerMessageId ? { providerMessageId: outcome.providerMessageId } : {}),
    ...(outcome.critical ? { critical: true } : {}),
    ...(outcome.releaseAt ? { releaseAt: outcome.releaseAt } : {}),
    ...(outcome.status === 'sent' ? { sentAt: now } : {}),
  };
}
