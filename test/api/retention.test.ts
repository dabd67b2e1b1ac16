import { randomUUID } from 'node:crypto';
import { buildApp } from '../../api/app';
import { expiringCollections } from '../../common/store/db';
import { ensureRetentionIndex, purgeExpired, RETENTION_INDEX } from '../../common/store/retention';
import { waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const DAY_MS = 86_400_000;
const COLLECTIONS = [
  'deliveries',
  'audience_pages',
  'dispatch_claims',
  'batch_counts',
  'callback_events',
  'provider_messages',
  'inbound_messages',
  'conversation_events',
  'conversations',
  'message_requests',
  'sends',
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
});
