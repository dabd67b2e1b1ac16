import type { Channel } from '../../common/config/config';
import type { SendDocument, SendRequest } from '../../common/domain/send-types';
import type { DigestStatus } from '../../common/store/digests-repository';
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
}

/** The send the workflow starts for the flush; null when none of its events is left to send. */
export interface DigestFlushResult {
  send: { channels: Channel[]; templateId: string | null; eventCount: number } | null;
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
  const stored = new Map(
    (await digests.eventsByIds(input.events.map((event) => event.eventId))).map((event) => [event._id, event]),
  );
  const events = input.events.flatMap((taken) => {
    const event = stored.get(taken.eventId);
    if (!event || event.removedAt) return [];
    const flushedBy = event.flushedIn?.[digestId];
    if (flushedBy !== undefined && flushedBy !== sendId) return [];
    return [{ event, receivedAt: taken.receivedAt }];
  });
  const status: DigestStatus = input.morePending ? 'waiting' : 'idle';
  const now = new Date();
  if (events.length === 0) {
    if (!input.morePending) await digests.recordClosed(digestId, 'idle');
    return { send: null };
  }
  await digests.markFlushed(
    events.map(({ event }) => event._id),
    digestId,
    sendId,
  );
  const firstEventAt = new Date(events[0].receivedAt).toISOString();
  const lastEventAt = new Date(events[events.length - 1].receivedAt).toISOString();
  const request: SendRequest = {
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
  );
  return {
    send: { channels: request.channels, templateId: request.templateId ?? null, eventCount: events.length },
  };
}
