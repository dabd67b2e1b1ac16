import { MongoServerError, type Collection } from 'mongodb';
import {
  ensurePlainRetentionIndex,
  ensureRetentionIndex,
  RETENTION_FROM_INDEX,
  RETENTION_INDEX,
  sendRetentionFrom,
  type ExpiringDocument,
} from '../../common/store/retention';

interface IndexSpec {
  key: Record<string, number>;
  expireAfterSeconds?: number;
}

const serverError = (code: number, errmsg: string) => new MongoServerError({ code, errmsg, ok: 0 });

/**
 * A collection's index commands as MongoDB (≥ 5.1) answers them: `createIndexes` of a taken name fails with 85
 * (same key, other options) or 86 (other key), and `collMod` changes a TTL or turns a plain single-field index into
 * a TTL one. With `ttl: false`, as FerretDB 1.24 answers: `expireAfterSeconds` is NotImplemented (238).
 */
function fakeCollection(
  indexes: Map<string, IndexSpec>,
  options: { ttl: boolean } = { ttl: true },
): { collection: Collection<ExpiringDocument>; commands: string[] } {
  const commands: string[] = [];
  const collection = {
    collectionName: 'deliveries',
    async createIndex(key: Record<string, number>, spec: { name: string; expireAfterSeconds?: number }) {
      commands.push(`createIndex ${spec.expireAfterSeconds ?? 'plain'}`);
      if (spec.expireAfterSeconds !== undefined && !options.ttl) {
        throw serverError(238, 'Index option "expireAfterSeconds" is not implemented yet');
      }
      const existing = indexes.get(spec.name);
      if (existing && JSON.stringify(existing.key) !== JSON.stringify(key)) throw serverError(86, 'key specs');
      if (existing && existing.expireAfterSeconds !== spec.expireAfterSeconds) throw serverError(85, 'options');
      indexes.set(spec.name, { key, expireAfterSeconds: spec.expireAfterSeconds });
      return spec.name;
    },
    async dropIndex(name: string) {
      commands.push('dropIndex');
      if (!indexes.delete(name)) throw serverError(27, 'index not found');
    },
    db: {
      async command(command: { collMod: string; index: { name: string; expireAfterSeconds: number } }) {
        commands.push(`collMod ${command.index.expireAfterSeconds}`);
        const existing = indexes.get(command.index.name);
        if (!existing) throw serverError(27, 'index not found');
        existing.expireAfterSeconds = command.index.expireAfterSeconds;
        return { ok: 1 };
      },
    },
  };
  // A stand-in of the few driver methods the retention calls.
  return { collection: collection as never, commands };
}

describe('ensureRetentionIndex (docs/operations.md "Retention")', () => {
  const DAY = 86_400;

  it('creates the TTL index, and leaves it alone while the retention stays the same', async () => {
    const indexes = new Map<string, IndexSpec>();
    const { collection, commands } = fakeCollection(indexes);
    await expect(ensureRetentionIndex(collection, 90)).resolves.toBe(true);
    await expect(ensureRetentionIndex(collection, 90)).resolves.toBe(true);
    expect(indexes.get(RETENTION_INDEX)).toEqual({ key: { createdAt: -1 }, expireAfterSeconds: 90 * DAY });
    expect(commands).toEqual([`createIndex ${90 * DAY}`, `createIndex ${90 * DAY}`]);
  });

  it('changes the TTL of the existing index with collMod when RETENTION_DAYS changes', async () => {
    const indexes = new Map([[RETENTION_INDEX, { key: { createdAt: -1 }, expireAfterSeconds: 90 * DAY }]]);
    const { collection, commands } = fakeCollection(indexes);
    await ensureRetentionIndex(collection, 30);
    expect(indexes.get(RETENTION_INDEX)!.expireAfterSeconds).toBe(30 * DAY);
    expect(commands).toEqual([`createIndex ${30 * DAY}`, `collMod ${30 * DAY}`]);
  });

  it('turns the plain by_created index of earlier versions into the TTL index', async () => {
    const indexes = new Map([[RETENTION_INDEX, { key: { createdAt: -1 } }]]);
    const { collection } = fakeCollection(indexes);
    await ensureRetentionIndex(collection, 7);
    expect(indexes.get(RETENTION_INDEX)).toEqual({ key: { createdAt: -1 }, expireAfterSeconds: 7 * DAY });
  });

  it('replaces an index of that name on another key', async () => {
    const indexes = new Map([[RETENTION_INDEX, { key: { sentAt: 1 } }]]);
    const { collection, commands } = fakeCollection(indexes);
    await ensureRetentionIndex(collection, 7);
    expect(indexes.get(RETENTION_INDEX)).toEqual({ key: { createdAt: -1 }, expireAfterSeconds: 7 * DAY });
    expect(commands).toEqual([`createIndex ${7 * DAY}`, 'dropIndex', `createIndex ${7 * DAY}`]);
  });

  it('answers false on a store without TTL indexes, with the plain index only when asked for', async () => {
    const withPlain = fakeCollection(new Map(), { ttl: false });
    await expect(ensureRetentionIndex(withPlain.collection, 90, true)).resolves.toBe(false);
    expect(withPlain.commands).toEqual([`createIndex ${90 * DAY}`, 'createIndex plain']);

    const without = fakeCollection(new Map(), { ttl: false });
    await expect(ensureRetentionIndex(without.collection, 90)).resolves.toBe(false);
    expect(without.commands).toEqual([`createIndex ${90 * DAY}`]);
  });

  it('keys the collections that expire once unneeded on retentionFrom, beside any by_created', async () => {
    const indexes = new Map([[RETENTION_INDEX, { key: { createdAt: -1 }, expireAfterSeconds: 90 * DAY }]]);
    const { collection } = fakeCollection(indexes);
    await expect(ensureRetentionIndex(collection, 30, false, 'retentionFrom')).resolves.toBe(true);
    expect(indexes.get(RETENTION_FROM_INDEX)).toEqual({ key: { retentionFrom: 1 }, expireAfterSeconds: 30 * DAY });
    expect(indexes.get(RETENTION_INDEX)).toEqual({ key: { createdAt: -1 }, expireAfterSeconds: 90 * DAY });
  });
  it('turns the TTL by_created of earlier versions back into a plain index (sends and requests), once', async () => {
    const indexes = new Map([[RETENTION_INDEX, { key: { createdAt: -1 }, expireAfterSeconds: 90 * DAY }]]);
    const { collection, commands } = fakeCollection(indexes);
    await ensurePlainRetentionIndex(collection);
    expect(indexes.get(RETENTION_INDEX)).toEqual({ key: { createdAt: -1 }, expireAfterSeconds: undefined });
    await ensurePlainRetentionIndex(collection);
    expect(commands).toEqual(['createIndex plain', 'dropIndex', 'createIndex plain', 'createIndex plain']);
  });

  it('a plain by_created dropped meanwhile by another process starting at once is created all the same', async () => {
    const indexes = new Map([[RETENTION_INDEX, { key: { createdAt: -1 }, expireAfterSeconds: 90 * DAY }]]);
    const { collection } = fakeCollection(indexes);
    const dropIndex = collection.dropIndex.bind(collection);
    // The other process dropped it first: this one's drop finds none.
    collection.dropIndex = (async (name: string) => {
      indexes.delete(name);
      return dropIndex(name);
    }) as never;
    await ensurePlainRetentionIndex(collection);
    expect(indexes.get(RETENTION_INDEX)).toEqual({ key: { createdAt: -1 }, expireAfterSeconds: undefined });
  });
});

describe('sendRetentionFrom', () => {
  const createdAt = new Date('2026-01-01T00:00:00Z');

  it('is the sendAt of a scheduled send, else its creation', () => {
    const sendAt = new Date('2026-12-01T00:00:00Z');
    expect(sendRetentionFrom({ createdAt, sendAt })).toBe(sendAt);
    expect(sendRetentionFrom({ createdAt })).toBe(createdAt);
    expect(sendRetentionFrom({ createdAt, sendAt: new Date('2025-12-31T00:00:00Z') })).toBe(createdAt);
  });
});
