import type { Filter } from 'mongodb';
import { digestId } from '../temporal/workflow-ids';
import { mapWithConcurrency } from '../toolkit/concurrency';
import type { SendRequest } from '../domain/send-types';
import type { DigestEvent } from '../temporal/digest-definitions';
import { isDuplicateKey, POINT_LOOKUPS_IN_FLIGHT, type Database } from './db';

/** Where a digest stands: events pending, none pending since its last flush, or dropped by `DELETE /digests/:id`. */
export type DigestStatus = 'waiting' | 'idle' | 'discarded';
export const DIGEST_STATUSES = ['waiting', 'idle', 'discarded'] as const satisfies readonly DigestStatus[];

/** What each digest of an event sends: the checked `/send` request but for its recipient and its data. */
export type DigestSendRequest = Omit<SendRequest, 'recipients' | 'clusters' | 'data'>;

/** What `POST /events` answered for an event; a repeat of the request answers it again. */
export interface DigestEventAnswer {
  eventId: string;
  digests: { digestId: string; flushAt: Date | null }[];
}

/** One accepted event (`digest_events`, `_id` = the event id, the idempotency key of `POST /events`). */
export interface DigestEventDocument {
  _id: string;
  /** The SHA-256 of the request's body: a repeat with another body is refused. */
  requestDigest: string;
  userIds: string[];
  digestKey: string;
  send: DigestSendRequest;
  data: Record<string, unknown>;
  receivedAt: Date;
  createdAt: Date;
  answer?: DigestEventAnswer;
  /**
   * The answer was stored with the event, before the event joined its digest's batch: a repeat of the request hands
   * the event off again (the digest takes it once) rather than answering at once, since the first may have stopped
   * in between. `recordAnswer` clears it.
   */
  answeredBeforeHandOff?: boolean;
  /** The digest id → the send of the flush that took the event for it: each digest takes it once. */
  flushedIn?: Record<string, string>;
  /** The digests whose `DELETE /digests/:id` dropped the event unsent. */
  discardedIn?: Record<string, true>;
  /** Set by `DELETE /events/:eventId` or its cancellation key: no flush takes it after. */
  removedAt?: Date;
  /** The caller's key that `POST /sends/cancel` removes it by while a digest holds it. */
  cancellationKey?: string;
  /**
   * When the last of its digests flushed (or dropped) it, or when it was removed: from then its retention counts
   * (docs/operations.md "Retention"). Absent while a digest may still take it, so a pending event never expires.
   */
  retentionFrom?: Date;
}

/** One digest, a (user, digest key) (`digests`, `_id` = the digest id): what the list and the reads show. */
export interface DigestDocument {
  _id: string;
  userId: string;
  digestKey: string;
  status: DigestStatus;
  /**
   * When its pending events flush, as recorded when the batch opened (a sliding window moves it further). Set only
   * while the batch takes events through its inbox: a flush or a close unsets it first.
   */
  flushAt?: Date;
  /** How many events the workflow held when it recorded the batch waiting; with the inbox, what `maxEvents` counts. */
  pendingCount?: number;
  maxEvents?: number;
  /** Whether events may join the waiting batch through `inbox` (a fixed end: not a sliding window). */
  joinable?: boolean;
  /**
   * Events that joined the waiting batch here instead of by a signal (docs/digests.md "How an event reaches its
   * digest"), each with the `flushAt` of the batch it joined; the batch's flush takes them with the signalled ones.
   */
  inbox?: InboxEntry[];
  /** The number of its latest flush; the next one is numbered after it. */
  flushCount: number;
  lastFlushAt?: Date;
  /** The events `DELETE /digests/:id` dropped unsent. */
  discardedEventIds?: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** An event that joined a waiting batch through the store, and the batch (its `flushAt`, epoch ms) it joined. */
export interface InboxEntry extends DigestEvent {
  batchFlushAt: number;
}

/** A push into a waiting batch's inbox that joined it: whether the batch now holds its `maxEvents`. */
export interface JoinedBatch {
  full: boolean;
}

/** One flush of a digest (`digest_flushes`, `_id` = the send id of its message). */
export interface DigestFlushDocument {
  _id: string;
  digestId: string;
  flushNumber: number;
  eventIds: string[];
  firstEventAt: Date;
  lastEventAt: Date;
  flushedAt: Date;
  createdAt: Date;
}

/** The end of the digest's waiting batch when events may join it through its inbox and it ends no sooner than `bound`. */
export const joinableEnd = (
  digest: Pick<DigestDocument, 'status' | 'joinable' | 'flushAt'>,
  bound: Date,
): Date | null =>
  digest.status === 'waiting' && digest.joinable && digest.flushAt && digest.flushAt >= bound ? digest.flushAt : null;

/** The events that joined the digest's waiting batch through its inbox, once each, in arrival order. */
export const joinedEventIds = (digest: Pick<DigestDocument, 'flushAt' | 'inbox'>): string[] => {
  const batchFlushAt = digest.flushAt?.getTime();
  const joined = (digest.inbox ?? []).filter((entry) => entry.batchFlushAt === batchFlushAt);
  return [...new Set(joined.sort((a, b) => a.receivedAt - b.receivedAt).map((entry) => entry.eventId))];
};

/** Whether each digest of the event, one per user, has flushed it or dropped it: none will take it again. */
export const isTakenEverywhere = (
  event: Pick<DigestEventDocument, 'userIds' | 'digestKey' | 'flushedIn' | 'discardedIn'>,
): boolean =>
  event.userIds.every((userId) => {
    const id = digestId(userId, event.digestKey);
    return event.flushedIn?.[id] !== undefined || event.discardedIn?.[id] === true;
  });

export interface DigestListFilter {
  userId?: string;
  digestKey?: string;
  status?: DigestStatus;
  limit: number;
  skip: number;
}

/**
 * The collections of digests (docs/digests.md): `digest_events` (each accepted event, once), `digests` (one per
 * user and key) and `digest_flushes` (each flush and its send). Every write is keyed, so repeating one is harmless; the
 * digest's workflow is the only writer of its `digests` document, one write after the other.
 */
export class DigestsRepository {
  constructor(private readonly database: Pick<Database, 'digests' | 'digestEvents' | 'digestFlushes'>) {}

  /** Inserts the event unless its id is taken; returns the document stored under the id before, or null. */
  async insertEvent(event: DigestEventDocument): Promise<DigestEventDocument | null> {
    try {
      await this.database.digestEvents.insertOne(event);
      return null;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const stored = await this.database.digestEvents.findOne({ _id: event._id });
    if (!stored) throw new Error(`digest event ${event._id}: a duplicate key, yet no document`);
    return stored;
  }

  getEvent(eventId: string): Promise<DigestEventDocument | null> {
    return this.database.digestEvents.findOne({ _id: eventId });
  }

  /**
   * Stores the answer given for the event. Called only by the request whose insert recorded the event, so the first
   * answer is the one stored without a condition in the filter: FerretDB finds a document by `_id` alone through its
   * key, and scans the whole collection for `_id` with any other condition.
   */
  async recordAnswer(eventId: string, answer: DigestEventAnswer): Promise<void> {
    await this.database.digestEvents.updateOne(
      { _id: eventId },
      { $set: { answer }, $unset: { answeredBeforeHandOff: true } },
    );
  }

  /** The answer stored for the event, if any. */
  async answerOf(eventId: string): Promise<DigestEventAnswer | undefined> {
    return (await this.database.digestEvents.findOne({ _id: eventId }, { projection: { answer: 1 } }))?.answer;
  }

  /** The events of `cancellationKey` not removed yet, oldest first (some of them may have been flushed everywhere). */
  async unremovedEventsByKey(cancellationKey: string): Promise<Pick<DigestEventDocument, '_id'>[]> {
    return this.database.digestEvents
      .find({ cancellationKey, removedAt: { $exists: false } }, { projection: { _id: 1, createdAt: 1 } })
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
  }

  async markEventRemoved(eventId: string): Promise<void> {
    const removedAt = new Date();
    await this.database.digestEvents.updateOne({ _id: eventId }, { $set: { removedAt, retentionFrom: removedAt } });
  }

  /** The events with these ids that exist, in the order of `eventIds`; point lookups (FerretDB scans for `$in`). */
  async eventsByIds(eventIds: string[]): Promise<DigestEventDocument[]> {
    const found = await mapWithConcurrency(eventIds, POINT_LOOKUPS_IN_FLIGHT, (id) =>
      this.database.digestEvents.findOne({ _id: id }),
    );
    return found.filter((event): event is DigestEventDocument => event !== null && event !== undefined);
  }

  /**
   * Records that `sendId` flushed these events for `digestId` (keyed writes, so a retried flush writes the same). One
   * update per event, a few in flight: FerretDB dropped the connection on a bulk write of many updates.
   */
  async markFlushed(eventIds: string[], digestId: string, sendId: string): Promise<void> {
    await this.markTaken(eventIds, `flushedIn.${digestId}`, sendId);
  }

  /**
   * Sets `field` of each event; an event that every digest of it (one per user) has now flushed or dropped gets its
   * `retentionFrom`, once.
   */
  private async markTaken(eventIds: string[], field: string, value: unknown): Promise<void> {
    await mapWithConcurrency(eventIds, POINT_LOOKUPS_IN_FLIGHT, async (id) => {
      const event = await this.database.digestEvents.findOneAndUpdate(
        { _id: id },
        { $set: { [field]: value } },
        // No projection: FerretDB 1.24 does not implement one in `findAndModify`.
        { returnDocument: 'after' },
      );
      if (event && event.retentionFrom === undefined && isTakenEverywhere(event)) {
        // By `_id` alone (FerretDB reads the whole collection for any other condition); `$min` keeps the date a
        // racing flush or removal wrote first, as a condition on `retentionFrom` would.
        await this.database.digestEvents.updateOne({ _id: id }, { $min: { retentionFrom: new Date() } });
      }
    });
  }

  /** The digest's document, created on its first event; returns it. */
  async open(digestId: string, userId: string, digestKey: string): Promise<DigestDocument> {
    const now = new Date();
    try {
      await this.database.digests.insertOne({
        _id: digestId,
        userId,
        digestKey,
        status: 'idle',
        flushCount: 0,
        createdAt: now,
        updatedAt: now,
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const digest = await this.get(digestId);
    if (!digest) throw new Error(`digest ${digestId}: inserted, yet not found`);
    return digest;
  }

  get(digestId: string): Promise<DigestDocument | null> {
    return this.database.digests.findOne({ _id: digestId });
  }

  /** The batch waits on `flushAt`; a batch with a fixed end (`joinable`) takes events through its inbox from now. */
  async recordWaiting(
    digestId: string,
    flushAt: Date,
    batch: { pendingCount?: number; maxEvents?: number; joinable?: boolean } = {},
  ): Promise<void> {
    await this.database.digests.updateOne(
      { _id: digestId },
      { $set: { status: 'waiting', flushAt, ...batch, updatedAt: new Date() } },
    );
  }

  /**
   * Pushes the event into the inbox of the batch the caller saw waiting on `batchEnd`. The push's answer shows whether
   * the batch still waited on that end when the event arrived, since a flush or a close unsets `flushAt` in the same
   * write that reads the inbox; null when it did not, and the caller signals the event. An entry left by a push that
   * came too late is a copy of a signalled event, which the next flush takes once and sweeps.
   */
  async pushToInbox(digestId: string, event: DigestEvent, batchEnd: Date): Promise<JoinedBatch | null> {
    const batchFlushAt = batchEnd.getTime();
    const after = await this.database.digests.findOneAndUpdate(
      { _id: digestId },
      { $push: { inbox: { ...event, batchFlushAt } } },
      { returnDocument: 'after' },
    );
    if (after?.status !== 'waiting' || after.flushAt?.getTime() !== batchFlushAt) return null;
    const joined = (after.inbox ?? []).filter((entry) => entry.batchFlushAt === batchFlushAt);
    const distinct = new Set(joined.map((entry) => entry.eventId)).size;
    const repeated = joined.filter((entry) => entry.eventId === event.eventId).length > 1;
    // Full on the push that brought it to `maxEvents` (pushes are one at a time): one flush signal per batch.
    const full = !repeated && (after.pendingCount ?? 0) + distinct === after.maxEvents;
    return { full };
  }

  /**
   * Closes the waiting batch's inbox (no event joins it after this write) and answers the events that joined it, once
   * each; repeated by a retried flush, it answers them again.
   */
  async closeInbox(digestId: string): Promise<{ events: DigestEvent[]; flushAt?: Date }> {
    const digest = await this.database.digests.findOneAndUpdate(
      { _id: digestId },
      { $unset: { flushAt: true } },
      { returnDocument: 'before' },
    );
    const byId = new Map<string, DigestEvent>();
    for (const { batchFlushAt: _batch, ...event } of digest?.inbox ?? []) {
      if (!byId.has(event.eventId)) byId.set(event.eventId, event);
    }
    return { events: [...byId.values()], ...(digest?.flushAt ? { flushAt: digest.flushAt } : {}) };
  }

  /**
   * Records a flush (once, by its send id) and where the digest stands after it. The flushed batch's end goes with it:
   * events left pending open a batch whose end the store does not know, and `POST /events` must not answer the old one.
   */
  async recordFlush(flush: DigestFlushDocument, status: DigestStatus, carriedOver: DigestEvent[] = []): Promise<void> {
    try {
      await this.database.digestFlushes.insertOne(flush);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    await this.database.digests.updateOne(
      { _id: flush.digestId },
      {
        // The inbox was closed before the flush read it: what came after was signalled as well. The events carried
        // over stay in it, for a retried flush to carry over again; they count for no batch (`batchFlushAt` 0).
        $set: {
          status,
          lastFlushAt: flush.flushedAt,
          inbox: carriedOver.map((event) => ({ ...event, batchFlushAt: 0 })),
          updatedAt: new Date(),
        },
        $max: { flushCount: flush.flushNumber },
        $unset: { flushAt: true },
      },
    );
  }

  /** The digest has nothing pending: emptied by removals (`idle`), or dropped whole (`discarded`). */
  async recordClosed(digestId: string, status: 'idle' | 'discarded', discardedEventIds: string[] = []): Promise<void> {
    await this.markTaken(discardedEventIds, `discardedIn.${digestId}`, true);
    await this.database.digests.updateOne(
      { _id: digestId },
      {
        $set: { status, inbox: [], updatedAt: new Date() },
        $unset: { flushAt: true },
        ...(discardedEventIds.length > 0 ? { $push: { discardedEventIds: { $each: discardedEventIds } } } : {}),
      },
    );
  }

  /** A page of digests, most recently changed first. */
  list(filter: DigestListFilter): Promise<DigestDocument[]> {
    const query: Filter<DigestDocument> = {};
    if (filter.userId !== undefined) query.userId = filter.userId;
    if (filter.digestKey !== undefined) query.digestKey = filter.digestKey;
    if (filter.status !== undefined) query.status = filter.status;
    return this.database.digests
      .find(query, { projection: { discardedEventIds: 0, inbox: 0 } })
      .sort({ updatedAt: -1, _id: 1 })
      .skip(filter.skip)
      .limit(filter.limit)
      .toArray();
  }

  /** The digest's latest flushes, newest first. */
  flushesOf(digestId: string, limit: number): Promise<DigestFlushDocument[]> {
    return this.database.digestFlushes.find({ digestId }).sort({ flushNumber: -1 }).limit(limit).toArray();
  }
}
