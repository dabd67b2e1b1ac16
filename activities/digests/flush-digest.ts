import type { Channel } from '../../common/config/config';
import type { SendDocument, SendRequest } from '../../common/domain/send-types';
import type { DigestEventDocument, DigestStatus } from '../../common/store/digests-repository';
import type { DigestEvent } from '../../common/temporal/digest-definitions';
import type { ActivityDeps } from '../activity-deps';

export interface DigestFlushInput {
  digestId: string;
  userId: string;
  sendId: string;
  flushNumber: number;
  /** The flush's events in arrival order, as the workflow took them. */
  events: { eventId: string; receivedAt: number }[];
  /** Whether events stay pending after this flush. */
  morePending: boolean;
  /** The batch's `maxEvents`: the inbox's events beyond it are carried over. Absent before batches had an inbox. */
  maxEvents?: number;
}

/** The send the workflow starts for the flush; null when none of its events is left to send. */
export interface DigestFlushResult {
  send: { channels: Channel[]; templateId: string | null; eventCount: number } | null;
  /** The events the flush took from the batch's inbox (they never reached the workflow): it ignores them after. */
  inboxEventIds?: string[];
  /** The inbox's events beyond `maxEvents`: they open the next batch. */
  carriedOver?: DigestEvent[];
}

/**
 * Turns a flush into an ordinary send (docs/digests.md): the events' data in arrival order become the send's data
 * (`events`, `eventCount`, `firstEventAt`, `lastEventAt`), the first event's channels and template its request, and
 * the send document is stored under the flush's derived send id, so a retry stores nothing twice and the workflow
 * starts the send by that id once. An event that `DELETE /events/:eventId` removed, or that another flush of this
 * digest took, is left out.
 */
export async function flushDigest(
  deps: Pick<ActivityDeps, 'digests' | 'sends'>,
  input: DigestFlushInput,
): Promise<DigestFlushResult> {
  const { digests, sends } = deps;
  const { digestId, userId, sendId, flushNumber } = input;
  // Closed again by a retry, which reads what the inbox still holds: the first attempt leaves it until the flush is
  // recorded, and then leaves in it what it carried over.
  const { events: inbox } = await digests.closeInbox(digestId);
  const batch = await flushableEvents(deps, input, inbox);
  // A retry after the send was stored flushes what the first attempt stored, whatever joined since.
  const stored = await sends.get(sendId);
  const { events, carriedOver } = stored
    ? { events: eventsOfStoredFlush(stored), carriedOver: undefined }
    : splitAtMaxEvents(batch, input.maxEvents);
  const flushedIds = new Set(events.map(({ event }) => event._id));
  const carried = (carriedOver ?? batch.filter((event) => event.fromInbox && !flushedIds.has(event.event._id))).map(
    ({ fromInbox }) => fromInbox!,
  );
  const inboxEventIds = inbox.map((event) => event.eventId).filter((id) => flushedIds.has(id));
  const status: DigestStatus = input.morePending || carried.length > 0 ? 'waiting' : 'idle';
  if (events.length === 0) {
    if (status === 'idle') await digests.recordClosed(digestId, 'idle');
    return { send: null, inboxEventIds, carriedOver: carried };
  }
  const now = new Date();
  const firstEventAt = new Date(events[0].receivedAt).toISOString();
  const lastEventAt = new Date(events[events.length - 1].receivedAt).toISOString();
  const request: SendRequest = stored?.request ?? {
    ...events[0].event.send,
    recipients: [userId],
    clusters: [],
    data: {
      events: events.map(({ event, receivedAt }) => ({
        eventId: event._id,
        time: new Date(receivedAt).toISOString(),
        data: event.data,
      })),
      eventCount: events.length,
      firstEventAt,
      lastEventAt,
    },
  };
  if (!stored) {
    const send: SendDocument = {
      _id: sendId,
      workflowId: sendId,
      kind: 'digest',
      digestId,
      request,
      status: 'running',
      createdAt: now,
      updatedAt: now,
    };
    await sends.create(send);
  }
  // Marked after the send is stored: an event marked flushed here is in this send's data, even after a crash.
  await digests.markFlushed(
    events.map(({ event }) => event._id),
    digestId,
    sendId,
  );
  await digests.recordFlush(
    {
      _id: sendId,
      digestId,
      flushNumber,
      eventIds: events.map(({ event }) => event._id),
      firstEventAt: new Date(firstEventAt),
      lastEventAt: new Date(lastEventAt),
      flushedAt: now,
      createdAt: now,
    },
    status,
    carried,
  );
  return {
    send: { channels: request.channels, templateId: request.templateId ?? null, eventCount: events.length },
    inboxEventIds,
    carriedOver: carried,
  };
}

type FlushedEvent = { event: Pick<DigestEventDocument, '_id' | 'send' | 'data'>; receivedAt: number };

/** A batch's event; one that only the inbox held carries what the inbox knew of it. */
type BatchEvent = FlushedEvent & { fromInbox?: DigestEvent };

/**
 * The batch's events, the workflow's and the inbox's, once each in arrival order, without those `DELETE
 * /events/:eventId` removed, `DELETE /digests/:id` dropped or another flush of this digest took.
 */
async function flushableEvents(
  { digests }: Pick<ActivityDeps, 'digests'>,
  input: DigestFlushInput,
  inbox: DigestEvent[],
): Promise<BatchEvent[]> {
  const batch = new Map<string, { receivedAt: number; fromInbox?: DigestEvent }>();
  for (const { eventId, receivedAt } of input.events) batch.set(eventId, { receivedAt });
  for (const event of inbox) {
    if (!batch.has(event.eventId)) batch.set(event.eventId, { receivedAt: event.receivedAt, fromInbox: event });
  }
  const ordered = [...batch].sort(
    ([idA, a], [idB, b]) => a.receivedAt - b.receivedAt || (idA < idB ? -1 : idA > idB ? 1 : 0),
  );
  const stored = new Map(
    (await digests.eventsByIds(ordered.map(([eventId]) => eventId))).map((event) => [event._id, event]),
  );
  return ordered.flatMap(([eventId, { receivedAt, fromInbox }]) => {
    const event = stored.get(eventId);
    if (!event || event.removedAt || event.discardedIn?.[input.digestId]) return [];
    const flushedBy = event.flushedIn?.[input.digestId];
    if (flushedBy !== undefined && flushedBy !== input.sendId) return [];
    return [{ event, receivedAt, ...(fromInbox ? { fromInbox } : {}) }];
  });
}

/**
 * The flush takes the workflow's events (it took at most `maxEvents` of them) and, in arrival order, the inbox's that
 * fit beside them; the inbox's others are carried over to the next batch.
 */
function splitAtMaxEvents(
  batch: BatchEvent[],
  maxEvents = Infinity,
): { events: BatchEvent[]; carriedOver: BatchEvent[] } {
  let room = maxEvents - batch.filter((event) => !event.fromInbox).length;
  const events: BatchEvent[] = [];
  const carriedOver: BatchEvent[] = [];
  for (const event of batch) {
    if (!event.fromInbox) events.push(event);
    else if (room-- > 0) events.push(event);
    else carriedOver.push(event);
  }
  return { events, carriedOver };
}

/** The events a stored flush's send holds, as its data lists them. */
function eventsOfStoredFlush(send: SendDocument): FlushedEvent[] {
  const listed = (send.request.data as { events?: { eventId: string; time: string }[] } | undefined)?.events ?? [];
  return listed.map(({ eventId, time }) => ({
    event: { _id: eventId, send: send.request, data: {} },
    receivedAt: Date.parse(time),
  }));
}
