import type { Collection } from 'mongodb';
import { findByIds, POINT_LOOKUPS_UP_TO } from '../../common/store/find-by-ids';

/** FerretDB serves a filter from its key only when it is `_id` alone: `$in` reads the whole collection. */
describe('findByIds', () => {
  const stored = new Map([
    ['a', { _id: 'a', n: 1 }],
    ['b', { _id: 'b', n: 2 }],
  ]);
  const recording = () => {
    const filters: unknown[] = [];
    const collection = {
      findOne: async (filter: { _id: string }) => {
        filters.push(filter);
        return stored.get(filter._id) ?? null;
      },
      find: (filter: { _id: { $in: string[] } }) => {
        filters.push(filter);
        return { toArray: async () => filter._id.$in.flatMap((id) => stored.get(id) ?? []) };
      },
    } as unknown as Collection<{ _id: string; n: number }>;
    return { filters, collection };
  };

  it('reads a few ids one by one by _id alone, each once, and leaves out those it does not find', async () => {
    const { filters, collection } = recording();
    const found = await findByIds(collection, ['a', 'missing', 'a', 'b']);
    expect(found.map(({ _id }) => _id).sort()).toEqual(['a', 'b']);
    expect(filters).toEqual([{ _id: 'a' }, { _id: 'missing' }, { _id: 'b' }]);
  });

  it('reads many ids in one $in query', async () => {
    const { filters, collection } = recording();
    const ids = ['a', ...Array.from({ length: POINT_LOOKUPS_UP_TO }, (_, i) => `x${i}`)];
    expect((await findByIds(collection, ids)).map(({ _id }) => _id)).toEqual(['a']);
    expect(filters).toEqual([{ _id: { $in: ids } }]);
  });
});
