import type { Collection } from 'mongodb';
import type { MessageChannel } from './message-requests-repository';
import { insertWhereFree, type Database } from '../db';
import type { DispatchClaimDocument } from '../../domain/send-types';

/** The statuses a callback reports, in the order one address goes through them (docs/os1-messaging.md). */
/** In the order a callback's events go; `skipped` (a suppressed address, never attempted) comes after `queued` alone. */
export const CALLBACK_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed', 'skipped'] as const;
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
  /** POSTs made; attempt `attempts` is the next one, claimed in `dispatch_claims` by the poster that makes it. */
  attempts: number;
  lastError?: string;
  createdAt: Date;
  deliveredAt?: Date;
}

/** The claim of one attempt to post an event (`callback|<eventId>#<attempt>`), beside the dispatch batches' claims. */
const claimKey = (eventId: string, attempt: number) => `callback|${eventId}#${attempt}`;

/** The order of an address's statuses: its events are posted in this order. */
export const statusRank = (status: CallbackStatus): number => CALLBACK_STATUSES.indexOf(status);

/**
 * The callback outbox (`callback_events`): a status change is written here once (its `_id` says which), then posted
 * by whoever holds its lease: the request's workflow, or the callbacks workflow a delivery report starts.
 */
export class CallbackEventsRepository {
  private readonly events: Collection<CallbackEventDocument>;
  private readonly claims: Collection<DispatchClaimDocument>;

  constructor(database: Pick<Database, 'callbackEvents' | 'dispatchClaims'>) {
    this.events = database.callbackEvents;
    this.claims = database.dispatchClaims;
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

  /** The pending events of one address of a request (its ledger key), in any order. */
  pendingOfAddress(requestId: string, deliveryKey: string): Promise<CallbackEventDocument[]> {
    return this.events.find({ requestId, state: 'pending', deliveryKey }).toArray();
  }

  /** Whether the event is still to be posted (neither delivered nor given up). */
  async isPending(eventId: string): Promise<boolean> {
    return (await this.events.findOne({ _id: eventId }, { projection: { state: 1 } }))?.state === 'pending';
  }

  /**
   * Takes a pending event for one attempt, or null when it is no longer pending or another poster holds it. The claim
   * is an insert keyed by the event and its attempt number (`dispatch_claims`), which exactly one poster wins: on
   * FerretDB a conditional update is not, as two concurrent ones may both match. A claim older than `leaseMs` is a
   * poster that crashed: the event moves on to its next attempt number, which can be claimed again.
   */
  async lease(eventId: string, leaseMs: number): Promise<CallbackEventDocument | null> {
    const event = await this.events.findOne({ _id: eventId });
    if (event?.state !== 'pending') return null;
    if (await this.claim(event)) return event;
    const holder = await this.claims.findOne({ _id: claimKey(eventId, event.attempts) });
    if (holder && Date.now() - holder.createdAt.getTime() < leaseMs) return null;
    // Every poster that finds the claim stale sets the same next number, and one of them wins its claim.
    await this.events.updateOne(
      { _id: eventId, state: 'pending', attempts: event.attempts },
      { $set: { attempts: event.attempts + 1 } },
    );
    const next = await this.events.findOne({ _id: eventId });
    return next?.state === 'pending' && (await this.claim(next)) ? next : null;
  }

  private async claim(event: CallbackEventDocument): Promise<boolean> {
    const taken = await insertWhereFree(this.claims, [
      {
        _id: claimKey(event._id, event.attempts),
        sendId: event.requestId,
        channel: event.payload.channel,
        size: 1,
        createdAt: new Date(),
      },
    ]);
    return taken.length === 0;
  }

  /** The claim holder's POST was accepted. */
  async delivered(event: CallbackEventDocument): Promise<void> {
    await this.events.updateOne(
      { _id: event._id },
      { $set: { state: 'delivered', deliveredAt: new Date(), attempts: event.attempts + 1 } },
    );
  }

  /** The claim holder's POST failed: the next attempt number is free to claim. */
  async attemptFailed(event: CallbackEventDocument, error: string): Promise<void> {
    await this.events.updateOne({ _id: event._id }, { $set: { lastError: error, attempts: event.attempts + 1 } });
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
