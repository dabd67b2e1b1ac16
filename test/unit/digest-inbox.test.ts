import { flushDigest } from '../../activities/digests/flush-digest';
import type { ActivityDeps } from '../../activities/activity-deps';
import type { SendDocument } from '../../common/domain/send-types';
import type { Database } from '../../common/store/db';
import {
  DigestsRepository,
  type DigestDocument,
  type DigestEventDocument,
} from '../../common/store/digests-repository';
import type { DigestEvent } from '../../common/temporal/digest-definitions';

const settings = { windowMs: 60_000, maxEvents: 3 };
const inboxEvent = (eventId: string, receivedAt: number): DigestEvent => ({ eventId, receivedAt, settings });

/** A `digests` collection of one document that applies `$push` and answers the document after it. */
function oneDigest(digest: Partial<DigestDocument>) {
  const collection = {
    findOneAndUpdate: async (_filter: object, update: { $push: { inbox: DigestDocument['inbox'] } }) => {
      digest.inbox = [...(digest.inbox ?? []), update.$push.inbox as never];
      return structuredClone(digest);
    },
  };
  return new DigestsRepository({ digests: collection } as unknown as Pick<
    Database,
    'digests' | 'digestEvents' | 'digestFlushes'
  >);
}

describe("a waiting batch's inbox", () => {
  const flushAt = new Date('2026-12-07T10:00:00Z');

  it('is full on the push that brings it to maxEvents, once, whatever repeats come after', async () => {
    const repository = oneDigest({ status: 'waiting', flushAt, pendingCount: 1, maxEvents: 3, joinable: true });
    const full = [];
    for (const eventId of ['b', 'c', 'c', 'd']) {
      full.push((await repository.pushToInbox('digest-1', inboxEvent(eventId, 1), flushAt))?.full);
    }
    expect(full).toEqual([false, true, false, false]);
  });

  it('refuses the event when the batch no longer waits on the end the caller saw (closed or flushed meanwhile)', async () => {
    const closed = oneDigest({ status: 'waiting', pendingCount: 1, maxEvents: 3, joinable: true });
    expect(await closed.pushToInbox('digest-1', inboxEvent('b', 1), flushAt)).toBeNull();
    const next = oneDigest({ status: 'waiting', flushAt: new Date(flushAt.getTime() + 1), joinable: true });
    expect(await next.pushToInbox('digest-1', inboxEvent('b', 1), flushAt)).toBeNull();
    const idle = oneDigest({ status: 'idle', flushAt, joinable: true });
    expect(await idle.pushToInbox('digest-1', inboxEvent('b', 1), flushAt)).toBeNull();
  });
});

/** The stores a flush writes, in memory, with the inbox kept as the repository keeps it. */
function flushStores(events: string[], inbox: DigestEvent[]) {
  const state = { inbox, sends: new Map<string, SendDocument>(), flushed: new Map<string, string>() };
  const stored = (id: string): DigestEventDocument => ({
    _id: id,
    requestDigest: id,
    userIds: ['u1'],
    digestKey: 'k',
    send: { channels: ['sms'] } as DigestEventDocument['send'],
    data: { text: id },
    receivedAt: new Date(0),
    createdAt: new Date(0),
    ...(state.flushed.has(id) ? { flushedIn: { 'digest-1': state.flushed.get(id)! } } : {}),
  });
  const digests = {
    closeInbox: async () => ({ events: [...state.inbox] }),
    eventsByIds: async (ids: string[]) => ids.filter((id) => events.includes(id)).map(stored),
    markFlushed: async (ids: string[], _digest: string, sendId: string) => {
      for (const id of ids) state.flushed.set(id, sendId);
    },
    recordFlush: async (_flush: unknown, _status: unknown, carriedOver: DigestEvent[] = []) => {
      state.inbox = carriedOver;
    },
    recordClosed: async () => undefined,
  };
  const sends = {
    get: async (id: string) => state.sends.get(id) ?? null,
    create: async (send: SendDocument) => void state.sends.set(send._id, send),
  };
  return { deps: { digests, sends } as unknown as Pick<ActivityDeps, 'digests' | 'sends'>, state };
}

describe("a digest's flush with an inbox", () => {
  const input = (sendId: string, events: { eventId: string; receivedAt: number }[]) => ({
    digestId: 'digest-1',
    userId: 'u1',
    sendId,
    flushNumber: 1,
    events,
    morePending: false,
    maxEvents: 3,
  });
  const textsOf = (send: SendDocument | undefined) =>
    (send?.request.data as { events: { eventId: string }[] }).events.map((event) => event.eventId);

  it("takes the workflow's events and the inbox's once each in arrival order, up to maxEvents, and carries the rest over", async () => {
    const inbox = [inboxEvent('c', 30), inboxEvent('a', 10), inboxEvent('a', 10), inboxEvent('d', 40)];
    const { deps, state } = flushStores(['a', 'b', 'c', 'd'], inbox);
    const result = await flushDigest(deps, input('send-1', [{ eventId: 'b', receivedAt: 20 }]));
    expect(textsOf(state.sends.get('send-1'))).toEqual(['a', 'b', 'c']);
    expect(result.send?.eventCount).toBe(3);
    expect(result.inboxEventIds).toEqual(expect.arrayContaining(['a', 'c']));
    expect(result.carriedOver).toEqual([inboxEvent('d', 40)]);
    // Left in the inbox for a retry, which flushes what the first attempt stored and carries over the same.
    expect(state.inbox.map((event) => event.eventId)).toEqual(['d']);
    const retried = await flushDigest(deps, input('send-1', [{ eventId: 'b', receivedAt: 20 }]));
    expect(retried.send?.eventCount).toBe(3);
    expect(retried.carriedOver).toEqual([inboxEvent('d', 40)]);
    expect([...state.flushed]).toEqual([
      ['a', 'send-1'],
      ['b', 'send-1'],
      ['c', 'send-1'],
    ]);
  });

  it('leaves out an inbox entry that another flush took or that no longer exists', async () => {
    const { deps, state } = flushStores(['a', 'b'], [inboxEvent('a', 10), inboxEvent('gone', 15)]);
    state.flushed.set('a', 'send-0');
    const result = await flushDigest(deps, input('send-1', [{ eventId: 'b', receivedAt: 20 }]));
    expect(textsOf(state.sends.get('send-1'))).toEqual(['b']);
    expect(result.carriedOver).toEqual([]);
  });
});
