import { MockActivityEnvironment } from '@temporalio/testing';
import type { SendActivities } from '../../activities';
import { AudienceSnapshots } from '../../activities/audience-snapshots';
import { UsersRepository } from '../../common/users-repository';
import { insertUsers, person, sendCreator } from '../support/fixtures';
import { quietTestLogger } from '../support/quiet-runtime';
import { useActivityStack } from '../support/activity-stack';
import type { TestStack } from '../support/test-stack';

/**
 * The audience snapshot of a cluster send (README "Design"): on FerretDB it streams in the store's own order, so that
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
    await new AudienceSnapshots(stack.database).writePage(sendId, 0, writtenBeforeCrash, []);

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
});
