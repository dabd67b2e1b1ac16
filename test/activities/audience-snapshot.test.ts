import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { BSON, ObjectId } from 'mongodb';
import type { SendActivities } from '../../activities';
import { AudienceSnapshots } from '../../activities/audience-snapshots';
import { AudiencePagesRepository } from '../../common/store/audience-pages-repository';
import { UsersRepository } from '../../common/store/users-repository';
import { insertUsers, person, sendCreator } from '../support/fixtures';
import { quietTestLogger } from '../support/quiet-runtime';
import { useActivityStack } from '../support/activity-stack';
import type { TestStack } from '../support/test-stack';

/**
 * The audience snapshot of a cluster send (docs/internals.md): on FerretDB it streams in the store's own order, so that
 * its first page is written while the store still scans (sorting by `_id` would hold every batch until the whole
 * audience was read), and a snapshot retried after a crash resumes past the pages already written.
 */
describe('the audience snapshot of a cluster', () => {
  const started = useActivityStack();
  let stack: TestStack;
  let activities: SendActivities;
  beforeAll(() => {
    ({ stack, activities } = started);
  });

  const createSend = sendCreator(() => stack, '0002', { messageTitle: 'Title', messageContent: 'Hi' });

  async function pagesOf(sendId: string): Promise<string[][]> {
    const pages = await stack.database.audiencePages.find({ sendId }).toArray();
    return pages.sort((a, b) => a.page - b.page).map((page) => page.userIds);
  }

  it('streams a cluster in the store order on FerretDB and point-looks-up listed ids in `_id` order', async () => {
    const users = new UsersRepository(stack.database, stack.config.service.userFields);
    expect(await users.audienceOrder({ recipients: [], clusters: ['any'] })).toBe('store');
    expect(await users.audienceOrder({ recipients: ['a', 'b'], clusters: [] })).toBe('id');
  });

  it('resumes past every page already written, even one written after the last heartbeat', async () => {
    const ids = await insertUsers(
      stack,
      Array.from({ length: 25 }, (_, index) => person(`Resumed${index}`, { clusters: ['resumed'] })),
    );
    const sendId = await createSend({ clusters: ['resumed'] });
    // The crashed attempt wrote page 0 (here: the last ten users, not the store's first ten) and died before its
    // heartbeat said so; a dispatch may have read that page already.
    const writtenBeforeCrash = ids.slice(15);
    await new AudienceSnapshots(new AudiencePagesRepository(stack.database)).writePage(
      sendId,
      0,
      writtenBeforeCrash,
      [],
    );

    const retry = new MockActivityEnvironment(
      { attempt: 2, heartbeatDetails: { pages: 0, recipients: 0, after: null } },
      { logger: quietTestLogger() },
    );
    const summary = await retry.run(() => activities.snapshotAudience({ sendId, pageSize: 10 }));

    expect(summary).toEqual({ pages: 3, recipients: 25, pageSize: 10 });
    const pages = await pagesOf(sendId);
    expect(pages[0]).toEqual(writtenBeforeCrash);
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(pages.flat().sort()).toEqual([...ids].sort());
  });

  it('takes every member of a cluster once in a first attempt', async () => {
    const ids = await insertUsers(
      stack,
      Array.from({ length: 23 }, (_, index) => person(`Fresh${index}`, { clusters: ['fresh'] })),
    );
    await insertUsers(stack, [person('Elsewhere', { clusters: ['other'] })]);
    const sendId = await createSend({ clusters: ['fresh'] });

    const first = new MockActivityEnvironment({ attempt: 1 }, { logger: quietTestLogger() });
    expect(await first.run(() => activities.snapshotAudience({ sendId, pageSize: 10 }))).toEqual({
      pages: 3,
      recipients: 23,
      pageSize: 10,
    });
    const pages = await pagesOf(sendId);
    expect(pages.map((page) => page.length)).toEqual([10, 10, 3]);
    expect(pages.flat().sort()).toEqual([...ids].sort());
  });

  it.each([
    ['keep where they end', true],
    ['were written before pages kept where they end', false],
  ])(
    'resumes an `_id`-order snapshot after the pages written, past its last heartbeat, when they %s',
    async (_name, withEnd) => {
      const ids = await insertUsers(
        stack,
        Array.from({ length: 25 }, (_, index) => person(`Ordered${index}`, { clusters: ['ordered'] })),
      );
      // Listed ids: `_id` order on any store. ObjectIds' hex sorts as their bytes do.
      const ordered = [...ids].sort();
      const sendId = await createSend({ recipients: ids });
      // The crashed attempt wrote pages 0 and 1; its last heartbeat said page 0 only, and a dispatch read page 1.
      const written = (page: number, userIds: string[]) => ({
        _id: `${sendId}|${page}`,
        sendId,
        page,
        userIds,
        users: [],
        ...(withEnd ? { end: { type: 'objectId' as const, value: userIds[userIds.length - 1] } } : {}),
        createdAt: new Date(),
      });
      await stack.database.audiencePages.insertMany([
        written(0, ordered.slice(0, 10)),
        written(1, ordered.slice(10, 20)),
      ]);
      // A user of page 1 leaves before the retry: a snapshot resumed from the heartbeat would shift page 1 by one.
      await stack.database.users.deleteOne({ _id: new ObjectId(ordered[12]) });

      const retry = new MockActivityEnvironment(
        {
          attempt: 2,
          heartbeatDetails: { pages: 1, recipients: 10, after: { type: 'objectId', value: ordered[9] } },
        },
        { logger: quietTestLogger() },
      );
      const summary = await retry.run(() => activities.snapshotAudience({ sendId, pageSize: 10 }));

      const pages = await pagesOf(sendId);
      expect(pages[1]).toEqual(ordered.slice(10, 20));
      expect(pages.flat()).toEqual(ordered);
      expect(summary).toEqual({ pages: 3, recipients: 25, pageSize: 10 });
    },
  );

  it('closes a page before its copies of users pass the byte budget (`fanOut.pageBytes`)', async () => {
    // 10 users of 2 MB: one page of 10 would pass the store's 16 MiB document limit and fail on every attempt.
    const bio = 'x'.repeat(2_000_000);
    const ids = await insertUsers(
      stack,
      Array.from({ length: 10 }, (_, index) => person(`Large${index}`, { clusters: ['large'], bio })),
    );
    const sendId = await createSend({ clusters: ['large'] });

    const first = new MockActivityEnvironment({ attempt: 1 }, { logger: quietTestLogger() });
    const summary = await first.run(() => activities.snapshotAudience({ sendId, pageSize: 10 }));

    const pages = await pagesOf(sendId);
    // The default budget, 8 MiB: four users of 2 MB a page.
    expect(pages.map((page) => page.length)).toEqual([4, 4, 2]);
    expect(pages.flat().sort()).toEqual([...ids].sort());
    expect(summary).toEqual({ pages: 3, recipients: 10, pageSize: 10 });
    const last = await stack.database.audiencePages.find({ sendId, last: true }).toArray();
    expect(last.map((page) => page.page)).toEqual([2]);
    await stack.database.users.deleteMany({ clusters: 'large' });
  });

  it('fails for good, on the send too, when a user is too large to copy into a page', async () => {
    // As large as the store takes a document: a page holding it (with its id and keys) is past the limit.
    const huge: Record<string, unknown> = { _id: new ObjectId(), ...person('Huge', { clusters: ['huge'], bio: '' }) };
    huge.bio = 'x'.repeat(16 * 1024 * 1024 - 16 - BSON.calculateObjectSize(huge));
    await stack.database.users.insertOne(huge);
    const sendId = await createSend({ clusters: ['huge'] });

    const first = new MockActivityEnvironment({ attempt: 1 }, { logger: quietTestLogger() });
    const failure = (await first
      .run(() => activities.snapshotAudience({ sendId, pageSize: 10 }))
      .catch((error: unknown) => error)) as ApplicationFailure;

    expect(failure).toMatchObject({ type: 'AudienceSnapshotFailed', nonRetryable: true });
    expect(failure.message).toMatch(/too large to copy/);
    const send = await stack.database.sends.findOne({ _id: sendId });
    expect(send?.audienceError).toBe(failure.message);
    // The page loop sees it instead of waiting for the page forever.
    const loop = new MockActivityEnvironment({ attempt: 1 }, { logger: quietTestLogger() });
    await expect(loop.run(() => activities.loadAudiencePageAndEnd({ sendId, page: 0 }))).rejects.toMatchObject({
      type: 'AudienceSnapshotFailed',
    });
    await stack.database.users.deleteMany({ clusters: 'huge' });
  });
});
