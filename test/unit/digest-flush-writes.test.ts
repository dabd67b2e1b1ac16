import type { Database } from '../../common/store/db';
import { digestId } from '../../common/temporal/workflow-ids';
import { DigestsRepository, type DigestEventDocument } from '../../common/store/digests-repository';

/**
 * FerretDB finds a document through its key only when a filter is `_id` alone: the flush's writes per event must
 * say nothing else, or each reads the whole `digest_events` collection.
 */
describe("a flush's writes of its events", () => {
  const stored = (userIds: string[]): DigestEventDocument => ({
    _id: 'evt-1',
    requestDigest: 'x',
    userIds,
    digestKey: 'daily',
    send: {} as DigestEventDocument['send'],
    data: {},
    receivedAt: new Date(),
    createdAt: new Date(),
    flushedIn: Object.fromEntries(userIds.map((userId) => [digestId(userId, 'daily'), 'send-1'])),
  });

  const recordingFilters = (event: DigestEventDocument) => {
    const filters: object[] = [];
    const digestEvents = {
      findOneAndUpdate: async (filter: object) => {
        filters.push(filter);
        return event;
      },
      updateOne: async (filter: object) => {
        filters.push(filter);
        return { matchedCount: 1 };
      },
    };
    const repository = new DigestsRepository({ digestEvents } as unknown as Pick<
      Database,
      'digests' | 'digestEvents' | 'digestFlushes'
    >);
    return { filters, repository };
  };

  it('finds each event by _id alone, also when it records that every digest has taken it', async () => {
    const { filters, repository } = recordingFilters(stored(['u1']));
    await repository.markFlushed(['evt-1'], digestId('u1', 'daily'), 'send-1');
    expect(filters).toEqual([{ _id: 'evt-1' }, { _id: 'evt-1' }]);
  });
});
