import type { Collection } from 'mongodb';
import type { MessageChannel } from './message-requests';
import { insertWhereFree, type Database } from './db';

/** The statuses a callback reports, in the order one address goes through them (README "OS1-style messaging"). */
export const CALLBACK_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'] as const;
export type CallbackStatus = (typeof CALLBACK_STATUSES)[number];

/** What a callback POST carries for one status change of one address (`meta` is added when posted). */
export interface CallbackPayload {
  /** Unique per (request, message, address, status): a receiver that sees it twice has seen one change. */
  eventId: string;
  requestId: string;
  messageId: string;
  channel: MessageChannel;
  to: string;
  status: CallbackStatus;
  /** For `failed`: the provider's code or ours (`TEMPLATE_NOT_FOUND`, `HTTP_400`, …), and what it said. */
  code?: string;
  error?: string;
  providerMessageId?: string;
  /** When the change happened, ISO 8601. */
  timestamp: string;
}

export type CallbackEventState = 'pending' | 'delivered' | 'expired';

export interface CallbackEventDocument {
  /** `<ledger key>|<status>` = `eventId`: one document, hence one POST, per change. */
  _id: string;
  requestId: string;
  /** The ledger key of the address, which orders an address's events after each other. */
  deliveryKey: string;
  payload: CallbackPayload;
  state: CallbackEventState;
  /** A poster that takes the event holds it until then; another poster skips it meanwhile. */
  leaseUntil: Date;
  attempts: number;
  lastError?: string;
  createdAt: Date;
  deliveredAt?: Date;
}

/** The order of an address's statuses: its events are posted in this order. */
export const statusRank = (status: CallbackStatus): number => CALLBACK_STATUSES.indexOf(status);

/**
 * The callback outbox (`callback_events`): a status change is written here once (its `_id` says which), then posted
 * by whoever holds its lease: the request's workflow, or the callbacks workflow a delivery report starts.
 */
export class CallbackEvents {
  private readonly events: Collection<CallbackEventDocument>;

  constructor(database: Pick<Database, 'callbackEvents'>) {
    this.events = database.callbackEvents as unknown as Collection<CallbackEventDocument>;
  }

  static ensureIndexes(database: Pick<Database, 'callbackEvents'>): Promise<string> {
    return database.callbackEvents.createIndex({ requestId: 1, state: 1, _id: 1 }, { name: 'by_request_state' });
  }

  /** Records changes; one already recorded is left as it is (a replayed dispatch, a repeated report). */
  async add(payloads: CallbackPayload[], deliveryKeys: string[]): Promise<void> {
    if (payloads.length === 0) return;
    const now = new Date();
    await insertWhereFree(
      this.events,
      payloads.map((payload, index) => ({
        _id: payload.eventId,
        requestId: payload.requestId,
        deliveryKey: deliveryKeys[index],
        payload,
        state: 'pending' as const,
        leaseUntil: new Date(0),
        attempts: 0,
        createdAt: now,
      })),
    );
  }

  /** One page of a request's pending events in key order (an address's events together), from after `after`. */
  pending(requestId: string, after: string | null, limit: number): Promise<CallbackEventDocument[]> {
    return this.events
      .find({ requestId, state: 'pending', ...(after ? { _id: { $gt: after } } : {}) })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** Takes a pending event for `leaseMs` unless another poster holds it; true when taken. */
  async lease(eventId: string, leaseMs: number): Promise<boolean> {
    const now = new Date();
    const result = await this.events.updateOne(
      { _id: eventId, state: 'pending', leaseUntil: { $lte: now } },
      { $set: { leaseUntil: new Date(now.getTime() + leaseMs) } },
    );
    return result.modifiedCount === 1;
  }

  async delivered(eventId: string): Promise<void> {
    const now = new Date();
    await this.events.updateOne(
      { _id: eventId },
      { $set: { state: 'delivered', deliveredAt: now, leaseUntil: now }, $inc: { attempts: 1 } },
    );
  }

  /** A failed POST: the event is free again for the next attempt. */
  async attemptFailed(eventId: string, error: string): Promise<void> {
    await this.events.updateOne(
      { _id: eventId },
      { $set: { lastError: error, leaseUntil: new Date() }, $inc: { attempts: 1 } },
    );
  }

  /** The retry window ran out: the event is given up, and says so (`GET /messages/:requestId`). */
  async expire(eventId: string): Promise<void> {
    await this.events.updateOne({ _id: eventId, state: 'pending' }, { $set: { state: 'expired' } });
  }

  /** Events of a request by state, for `GET /messages/:requestId`. */
  async countsByState(requestId: string): Promise<Record<CallbackEventState, number>> {
    const counts: Record<CallbackEventState, number> = { pending: 0, delivered: 0, expired: 0 };
    await Promise.all(
      (Object.keys(counts) as CallbackEventState[]).map(async (state) => {
        counts[state] = await this.events.countDocuments({ requestId, state });
      }),
    );
    return counts;
  }
}
