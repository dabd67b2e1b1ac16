import { randomUUID } from 'node:crypto';
import { buildApp } from '../../api/app';
import { expiringCollections, retainedUntilUnneededCollections } from '../../common/store/db';
import type { SendDocument } from '../../common/domain/send-types';
import {
  MessageRequestsRepository,
  type MessageRequestDocument,
} from '../../common/store/messaging/message-requests-repository';
import { purgeRetention } from '../../common/store/retention-purge';
import { SendsRepository } from '../../common/store/sends-repository';
import { parseCodecKeys } from '../../common/crypto/encryption-codec';
import { DigestsRepository, type DigestEventDocument } from '../../common/store/digests-repository';
import { erase } from '../../common/store/erasure';
import { SendCancellationsRepository } from '../../common/store/send-cancellations-repository';
import { ThrottleClaimsRepository } from '../../common/store/throttle-claims-repository';
import { digestId } from '../../common/temporal/workflow-ids';
import { ensureRetentionIndex, purgeExpired, RETENTION_INDEX } from '../../common/store/retention';
import { waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const DAY_MS = 86_400_000;
const COLLECTIONS = [
  'digest_flushes',
  'deliveries',
  'audience_pages',
  'dispatch_claims',
  'batch_counts',
  'callback_events',
  'provider_messages',
  'inbound_messages',
  'conversation_events',
  'conversations',
];

/**
 * Retention on the suite's FerretDB 1.24 (docs/operations.md "Retention"): it has no TTL indexes, so documents past
 * `RETENTION_DAYS` go by the API's periodic purge.
 */
describe('retention of sends, deliveries, audience snapshots and dispatch claims', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(() => stack.close());

  /** `count` documents in each collection, created `ageDays` ago; returns their ids per collection. */
  async function insertAged(ageDays: number, count: number): Promise<Record<string, string[]>> {
    const createdAt = new Date(Date.now() - ageDays * DAY_MS);
    const ids: Record<string, string[]> = {};
    for (const name of COLLECTIONS) {
      const docs = Array.from({ length: count }, () => ({ _id: `send-${randomUUID()}`, sendId: 'send-x', createdAt }));
      await stack.database.db.collection<{ _id: string }>(name).insertMany(docs);
      ids[name] = docs.map((doc) => doc._id);
    }
    return ids;
  }

  const remaining = async (ids: Record<string, string[]>) =>
    Object.fromEntries(
      await Promise.all(
        COLLECTIONS.map(async (name) => {
          const collection = stack.database.db.collection<{ _id: string }>(name);
          const found = await Promise.all(ids[name].map((_id) => collection.findOne({ _id })));
          return [name, found.filter(Boolean).length] as const;
        }),
      ),
    );

  it('FerretDB refuses TTL indexes: the sends keep their plain by_created index, the store its documents', async () => {
    await expect(
      stack.database.deliveries.createIndex({ createdAt: -1 }, { name: 'probe', expireAfterSeconds: 60 }),
    ).rejects.toMatchObject({ code: 238 });
    await expect(ensureRetentionIndex(stack.database.db.collection('deliveries'), 90)).resolves.toBe(false);
    const sendsIndex = (await stack.database.sends.indexes()).find((index) => index.name === RETENTION_INDEX);
    expect(sendsIndex).toMatchObject({ key: { createdAt: -1 } });
    expect(sendsIndex).not.toHaveProperty('expireAfterSeconds');
  });

  it('purgeExpired deletes what is older than the retention, in batches, and keeps what is newer', async () => {
    const old = await insertAged(91, 5);
    const recent = await insertAged(89, 3);
    const deleted = await purgeExpired(expiringCollections(stack.database), 90, { batchSize: 2 });
    expect(deleted).toEqual(Object.fromEntries(COLLECTIONS.map((name) => [name, 5])));
    expect(await remaining(old)).toEqual(Object.fromEntries(COLLECTIONS.map((name) => [name, 0])));
    expect(await remaining(recent)).toEqual(Object.fromEntries(COLLECTIONS.map((name) => [name, 3])));
  });

  it('the API purges when it starts, with its RETENTION_DAYS', async () => {
    const old = await insertAged(2.5, 2);
    const recent = await insertAged(1.5, 2);
    const app = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, RETENTION_DAYS: 2 } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    try {
      await app.ready();
      await waitFor(async () => Object.values(await remaining(old)).every((count) => count === 0));
      expect(await remaining(recent)).toEqual(Object.fromEntries(COLLECTIONS.map((name) => [name, 2])));
    } finally {
      await app.close();
    }
  });

  describe('throttle claims, cancels and digest events: RETENTION_DAYS after they stop being needed', () => {
    const UNNEEDED = ['throttle_claims', 'send_cancellations', 'digest_events', 'message_requests', 'sends'];
    const retentionFromOf = async (name: string, _id: string) =>
      (await stack.database.db.collection<{ _id: string; retentionFrom?: Date }>(name).findOne({ _id }))?.retentionFrom;

    it('a throttle claim counts from the end of its window', async () => {
      const claims = new ThrottleClaimsRepository(stack.database);
      const scope = `email|user-${randomUUID()}|k`;
      const before = Date.now();
      await expect(claims.claim(scope, 'send-a|email|u', 1, 3 * DAY_MS)).resolves.toBe(true);
      const retentionFrom = (await retentionFromOf('throttle_claims', `${scope}|0|0`))!.getTime();
      expect(retentionFrom).toBeGreaterThanOrEqual(before + 3 * DAY_MS);
      expect(retentionFrom).toBeLessThanOrEqual(Date.now() + 3 * DAY_MS);
    });

    it("a send's cancel counts from its sendAt when the send was still waiting, else from the cancel", async () => {
      const cancellations = new SendCancellationsRepository(stack.database);
      const sendAt = new Date(Date.now() + 200 * DAY_MS);
      const [waiting, running] = [`send-${randomUUID()}`, `send-${randomUUID()}`];
      await cancellations.record(waiting, undefined, sendAt);
      await cancellations.record(running, undefined, new Date(Date.now() - 1000));
      expect(await retentionFromOf('send_cancellations', waiting)).toEqual(sendAt);
      const cancelledAt = (await cancellations.get(running))!.createdAt;
      expect(await retentionFromOf('send_cancellations', running)).toEqual(cancelledAt);
    });

    it('a digest event counts once every digest of it flushed or dropped it, or once it was removed; a pending one never', async () => {
      const digests = new DigestsRepository(stack.database);
      const event = (userIds: string[]): DigestEventDocument => ({
        _id: `evt-${randomUUID()}`,
        requestDigest: 'x',
        userIds,
        digestKey: 'daily',
        send: {} as DigestEventDocument['send'],
        data: {},
        receivedAt: new Date(),
        createdAt: new Date(),
      });
      const twoUsers = event(['u1', 'u2']);
      const removed = event(['u1']);
      await digests.insertEvent(twoUsers);
      await digests.insertEvent(removed);

      await digests.markFlushed([twoUsers._id], digestId('u1', 'daily'), 'send-1');
      expect(await retentionFromOf('digest_events', twoUsers._id)).toBeUndefined();
      await digests.markFlushed([twoUsers._id], digestId('u2', 'daily'), 'send-2');
      const flushedAt = await retentionFromOf('digest_events', twoUsers._id);
      expect(flushedAt).toBeInstanceOf(Date);
      // A retried flush keeps the first date.
      await digests.markFlushed([twoUsers._id], digestId('u2', 'daily'), 'send-2');
      expect(await retentionFromOf('digest_events', twoUsers._id)).toEqual(flushedAt);

      await digests.markEventRemoved(removed._id);
      expect(await retentionFromOf('digest_events', removed._id)).toBeInstanceOf(Date);

      // DELETE /digests/:id drops a digest's pending events: it will not take them either.
      const dropped = event(['u1', 'u3']);
      await digests.insertEvent(dropped);
      await digests.recordClosed(digestId('u3', 'daily'), 'discarded', [dropped._id]);
      expect(await retentionFromOf('digest_events', dropped._id)).toBeUndefined();
      await digests.markFlushed([dropped._id], digestId('u1', 'daily'), 'send-3');
      expect(await retentionFromOf('digest_events', dropped._id)).toBeInstanceOf(Date);
    });

    it('an event of several users left by an erased user counts from then if every other digest has taken it', async () => {
      const digests = new DigestsRepository(stack.database);
      const [erased, flushed, pending] = [`u-${randomUUID()}`, `u-${randomUUID()}`, `u-${randomUUID()}`];
      const event = (userIds: string[]): DigestEventDocument => ({
        _id: `evt-${randomUUID()}`,
        requestDigest: 'x',
        userIds,
        digestKey: 'daily',
        send: {} as DigestEventDocument['send'],
        data: {},
        receivedAt: new Date(),
        createdAt: new Date(),
      });
      const takenByTheOther = event([erased, flushed]);
      const stillPending = event([erased, pending]);
      await digests.insertEvent(takenByTheOther);
      await digests.insertEvent(stillPending);
      await digests.markFlushed([takenByTheOther._id], digestId(flushed, 'daily'), 'send-1');
      expect(await retentionFromOf('digest_events', takenByTheOther._id)).toBeUndefined();

      const [hashKey] = parseCodecKeys(stack.config.env.TEMPORAL_CODEC_KEYS!);
      const { touched } = await erase(
        stack.database,
        { userId: erased },
        { fields: stack.config.service.userFields, hashKey },
      );
      expect(touched.digestEvents).toBe(2);
      expect(await retentionFromOf('digest_events', takenByTheOther._id)).toBeInstanceOf(Date);
      expect(await retentionFromOf('digest_events', stillPending._id)).toBeUndefined();
      await digests.markFlushed([stillPending._id], digestId(pending, 'daily'), 'send-2');
      expect(await retentionFromOf('digest_events', stillPending._id)).toBeInstanceOf(Date);
    });

    it('purgeExpired on retentionFrom deletes what stopped being needed before the retention, nothing else', async () => {
      const insert = async (fields: { retentionFrom?: Date }) => {
        const ids: Record<string, string> = {};
        for (const name of UNNEEDED) {
          const _id = `${name}-${randomUUID()}`;
          await stack.database.db
            .collection<{ _id: string; createdAt: Date; retentionFrom?: Date }>(name)
            .insertOne({ _id, createdAt: new Date(Date.now() - 400 * DAY_MS), ...fields });
          ids[name] = _id;
        }
        return ids;
      };
      const old = await insert({ retentionFrom: new Date(Date.now() - 91 * DAY_MS) });
      const recent = await insert({ retentionFrom: new Date(Date.now() - 89 * DAY_MS) });
      const pending = await insert({});
      const deleted = await purgeExpired(retainedUntilUnneededCollections(stack.database), 90, {
        field: 'retentionFrom',
        batchSize: 2,
      });
      expect(deleted).toEqual(Object.fromEntries(UNNEEDED.map((name) => [name, 1])));
      const exists = async (ids: Record<string, string>) =>
        Promise.all(
          UNNEEDED.map(async (name) =>
            Boolean(await stack.database.db.collection<{ _id: string }>(name).findOne({ _id: ids[name] })),
          ),
        );
      expect(await exists(old)).toEqual(UNNEEDED.map(() => false));
      expect(await exists(recent)).toEqual(UNNEEDED.map(() => true));
      expect(await exists(pending)).toEqual(UNNEEDED.map(() => true));
    });
  });
  describe('sends and requests: RETENTION_DAYS after their sendAt, else their creation', () => {
    const daysFromNow = (days: number) => new Date(Date.now() + days * DAY_MS);
    const send = (createdAt: Date, sendAt?: Date) =>
      ({
        _id: `send-${randomUUID()}`,
        workflowId: 'w',
        kind: 'broadcast',
        request: {},
        status: sendAt ? 'scheduled' : 'running',
        ...(sendAt ? { sendAt } : {}),
        createdAt,
        updatedAt: createdAt,
      }) as unknown as SendDocument;
    const request = (createdAt: Date, sendAt?: Date): MessageRequestDocument => ({
      _id: `msg-${randomUUID()}`,
      apiKeyId: null,
      messages: [],
      status: sendAt ? 'scheduled' : 'running',
      ...(sendAt ? { sendAt } : {}),
      createdAt,
      updatedAt: createdAt,
    });
    const exists = async (name: 'sends' | 'message_requests', _id: string) =>
      Boolean(await stack.database.db.collection<{ _id: string }>(name).findOne({ _id }));

    it('a send or request scheduled beyond the retention stays until RETENTION_DAYS after its sendAt; one written before retentionFrom goes by createdAt', async () => {
      const sends = new SendsRepository(stack.database);
      const requests = new MessageRequestsRepository(stack.database);
      const cases = {
        // Asked 100 days ago for 10 days from now: still waiting.
        waiting: [send(daysFromNow(-100), daysFromNow(10)), request(daysFromNow(-100), daysFromNow(10))],
        // Asked 200 days ago, gone out 91 days ago.
        goneOut: [send(daysFromNow(-200), daysFromNow(-91)), request(daysFromNow(-200), daysFromNow(-91))],
        sentAtOnce: [send(daysFromNow(-91)), request(daysFromNow(-91))],
        recent: [send(daysFromNow(-89)), request(daysFromNow(-89))],
      } as const;
      for (const [aSend, aRequest] of Object.values(cases)) {
        await sends.create(aSend as SendDocument);
        await requests.createOrGet(aRequest as MessageRequestDocument);
      }
      expect((await sends.get(cases.waiting[0]._id))?.retentionFrom).toEqual(cases.waiting[0].sendAt);
      expect((await requests.get(cases.sentAtOnce[1]._id))?.retentionFrom).toEqual(cases.sentAtOnce[1].createdAt);
      // Written by an earlier version: no retentionFrom.
      const legacyOld = [send(daysFromNow(-91)), request(daysFromNow(-91))] as const;
      const legacyRecent = [send(daysFromNow(-89)), request(daysFromNow(-89))] as const;
      for (const [aSend, aRequest] of [legacyOld, legacyRecent]) {
        await stack.database.sends.insertOne(aSend);
        await stack.database.messageRequests.insertOne(aRequest);
      }

      await purgeRetention(stack.database, 90, { batchSize: 2 });
      const kept = async ([aSend, aRequest]: readonly [SendDocument, MessageRequestDocument]) => [
        await exists('sends', aSend._id),
        await exists('message_requests', aRequest._id),
      ];
      expect(await kept(cases.waiting)).toEqual([true, true]);
      expect(await kept(cases.recent)).toEqual([true, true]);
      expect(await kept(legacyRecent)).toEqual([true, true]);
      expect(await kept(cases.goneOut)).toEqual([false, false]);
      expect(await kept(cases.sentAtOnce)).toEqual([false, false]);
      expect(await kept(legacyOld)).toEqual([false, false]);
    });

    it('a reschedule and the firing move the retention to the new sendAt', async () => {
      const sends = new SendsRepository(stack.database);
      const requests = new MessageRequestsRepository(stack.database);
      const [aSend, aRequest] = [send(new Date(), daysFromNow(1)), request(new Date(), daysFromNow(1))];
      await sends.create(aSend);
      await requests.createOrGet(aRequest);
      await sends.rescheduled(aSend._id, daysFromNow(300));
      await requests.rescheduled(aRequest._id, daysFromNow(300));
      expect((await sends.get(aSend._id))?.retentionFrom?.getTime()).toBeGreaterThan(daysFromNow(299).getTime());
      expect((await requests.get(aRequest._id))?.retentionFrom?.getTime()).toBeGreaterThan(daysFromNow(299).getTime());
      const firedAt = daysFromNow(2);
      await sends.fired(aSend._id, firedAt);
      await requests.fired(aRequest._id, firedAt);
      expect((await sends.get(aSend._id))?.retentionFrom).toEqual(firedAt);
      expect((await requests.get(aRequest._id))?.retentionFrom).toEqual(firedAt);
    });
  });
});
