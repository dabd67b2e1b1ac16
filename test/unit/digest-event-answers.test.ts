import type { Client } from '@temporalio/client';
import type { EventBody } from '../../api/schemas/digests-schemas';
import { DigestEvents, type DigestEventsDeps } from '../../api/services/digest-events';
import type { AppConfig } from '../../common/config/config';
import {
  DigestsRepository,
  type DigestDocument,
  type DigestEventAnswer,
  type DigestEventDocument,
} from '../../common/store/digests-repository';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The events store as `DigestEvents` uses it: an insert keyed by id, and the answer beside the event. */
class FakeEventStore {
  readonly events = new Map<string, DigestEventDocument>();
  answersRecorded = 0;
  /** What the `digests` collection says of every digest. */
  recorded: Partial<DigestDocument> | null = null;

  async get() {
    return this.recorded;
  }

  /** A push joins while the recorded digest still waits on the end the caller saw. */
  async pushToInbox(_id: string, _event: unknown, batchEnd: Date) {
    return this.recorded?.flushAt?.getTime() === batchEnd.getTime() ? { full: false } : null;
  }

  async insertEvent(event: DigestEventDocument) {
    const earlier = this.events.get(event._id);
    if (earlier) return structuredClone(earlier);
    this.events.set(event._id, structuredClone(event));
    return null;
  }

  async recordAnswer(eventId: string, answer: DigestEventAnswer) {
    this.answersRecorded++;
    this.events.get(eventId)!.answer = answer;
  }

  async answerOf(eventId: string) {
    return this.events.get(eventId)?.answer;
  }
}

/** A digest whose answer is late by `delays[n]` ms for the n-th hand-off, with a flush time of its own each time. */
function digestEventsWith(store: FakeEventStore, delays: number[], queries = { count: 0 }) {
  let handOffs = 0;
  const temporal = {
    workflow: {
      signalWithStart: async () => {
        const handOff = handOffs++;
        await sleep(delays[handOff] ?? 0);
        return {
          query: async () => {
            queries.count++;
            return { pendingEventIds: ['evt-1'], flushAt: 1_000 * (handOff + 1) };
          },
        };
      },
    },
    withDeadline: (_deadline: number, query: () => Promise<unknown>) => query(),
  } as unknown as Client;
  const deps = {
    config: {
      env: { TEMPORAL_TASK_QUEUE: 'test' },
      service: { fanOut: {}, dispatchRetry: {}, userFields: {} },
    } as unknown as AppConfig,
    temporal,
    digests: store,
    users: { byIds: async (ids: string[]) => new Map(ids.map((id) => [id, { _id: id }])) },
    sendPreparation: {
      prepare: async () => ({ channels: ['sms'], recipients: [], clusters: [], data: {}, messageTitle: 't' }),
    },
  } as unknown as DigestEventsDeps;
  return new DigestEvents(deps);
}

const body = {
  eventId: 'evt-1',
  userId: 'u1',
  digestKey: 'comments',
  channels: ['sms'],
  messageTitle: 't',
  messageContent: 'c',
  data: {},
  digest: { window: 'PT1M' },
} as unknown as EventBody;

describe('POST /events answers (docs/digests.md)', () => {
  it('stores the answer once, by the request that recorded the event, and answers a repeat with it', async () => {
    const store = new FakeEventStore();
    const events = digestEventsWith(store, []);
    const first = await events.accept(body);
    expect(first.digests.map((digest) => digest.flushAt?.getTime())).toEqual([1_000]);
    expect(await events.accept(body)).toEqual(first);
    expect(store.answersRecorded).toBe(1);
  });

  it('answers a repeat that comes while the first runs with the first answer, not its own', async () => {
    const store = new FakeEventStore();
    // The first hand-off is slow; the repeat's is quick and finds another flush time.
    const events = digestEventsWith(store, [300, 0]);
    const [first, repeat] = await Promise.all([events.accept(body), sleep(50).then(() => events.accept(body))]);
    expect(first.digests[0].flushAt?.getTime()).toBe(1_000);
    expect(repeat).toEqual(first);
    expect(store.answersRecorded).toBe(1);
  });

  it("joins the digest's waiting batch through the store and answers its end, neither signalling nor asking", async () => {
    const ahead = (ms: number) => new Date(Date.now() + ms);
    const waiting = { status: 'waiting' as const, joinable: true };
    const cases = [
      { recorded: { ...waiting, flushAt: ahead(30_000) }, digest: body.digest, signalled: 0 },
      { recorded: { ...waiting, flushAt: ahead(100) }, digest: body.digest, signalled: 1 },
      { recorded: { ...waiting, joinable: false, flushAt: ahead(30_000) }, digest: body.digest, signalled: 1 },
      { recorded: { status: 'idle' as const }, digest: body.digest, signalled: 1 },
      {
        recorded: { ...waiting, flushAt: ahead(30_000) },
        digest: { window: 'PT1M', sliding: true, maxWindow: 'PT1H' },
        signalled: 1,
      },
    ];
    for (const { recorded, digest, signalled } of cases) {
      const store = new FakeEventStore();
      store.recorded = recorded;
      const queries = { count: 0 };
      const answer = await digestEventsWith(store, [], queries).accept({ ...body, digest } as EventBody);
      expect({ recorded, signalled: queries.count }).toEqual({ recorded, signalled });
      expect(answer.digests[0].flushAt?.getTime()).toBe(
        signalled ? 1_000 : (recorded as { flushAt: Date }).flushAt.getTime(),
      );
    }
  });
});

describe('DigestsRepository answers', () => {
  it('writes an answer by the event id alone, which FerretDB finds through its key rather than by a scan', async () => {
    const updateOne = jest.fn().mockResolvedValue({ modifiedCount: 1 });
    const repository = new DigestsRepository({ digestEvents: { updateOne } } as never);
    const answer = { eventId: 'evt-1', digests: [] };
    await repository.recordAnswer('evt-1', answer);
    expect(updateOne).toHaveBeenCalledWith(
      { _id: 'evt-1' },
      { $set: { answer }, $unset: { answeredBeforeHandOff: true } },
    );
  });
});
