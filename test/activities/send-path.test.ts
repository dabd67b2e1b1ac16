import { MockActivityEnvironment } from '@temporalio/testing';
import type { CommandStartedEvent, Document } from 'mongodb';
import { createActivities, type SendActivities } from '../../activities';
import { activityDepsOn } from '../../activities/activity-deps';
import { connectDatabase, type Database } from '../../common/store/db';
import { batchCountsKey, missingRecipientsKey } from '../../common/domain/send-types';
import { insertUsers, person, sendCreator, simMessages } from '../support/fixtures';
import { quietTestLogger } from '../support/quiet-runtime';
import { startTestStack, type TestStack } from '../support/test-stack';

/** Collections a send reads and writes, whose size grows with the users and the history of every send. */
const WATCHED = new Set(['users', 'sends', 'deliveries', 'audience_pages', 'dispatch_claims', 'batch_counts']);

/** The filters a command selects documents by (find, update, delete, findAndModify); aggregate and count have none. */
function filtersOf(event: CommandStartedEvent): Document[] {
  const command = event.command;
  switch (event.commandName) {
    case 'find':
      return [command.filter ?? {}];
    case 'update':
    case 'delete':
      return (command.updates ?? command.deletes).map((statement: Document) => statement.q);
    case 'findAndModify':
      return [command.query];
    default:
      return [];
  }
}

/** A point lookup: `{ _id: <value> }`, the one filter FerretDB serves from an index (docs/internals.md). */
const isPointLookup = (filter: Document): boolean => {
  const keys = Object.keys(filter);
  if (keys.length !== 1 || keys[0] !== '_id') return false;
  const value = filter._id as unknown;
  return typeof value !== 'object' || value === null || value.constructor?.name === 'ObjectId';
};

/**
 * The path of a small send, activity by activity (docs/internals.md): what it asks the store. A one-recipient send must
 * cost the same whatever the store holds, so every read is a point lookup on `_id` and nothing is totalled by a scan
 * (aggregate, count, a query by another field), which FerretDB answers by reading the whole collection.
 */
describe('the store work of a send', () => {
  let stack: TestStack;
  let watched: Database;
  let activities: SendActivities;
  let closeDeps: () => Promise<void>;
  const commands: CommandStartedEvent[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    const url = stack.config.env.MONGODB_URL;
    const config = {
      ...stack.config,
      env: { ...stack.config.env, MONGODB_URL: `${url}${url.includes('?') ? '&' : '?'}monitorCommands=true` },
    };
    watched = await connectDatabase(config, { ensureIndexes: false });
    watched.client.on('commandStarted', (event) => {
      const collection = event.command[event.commandName] as unknown;
      if (typeof collection === 'string' && WATCHED.has(collection)) commands.push(event);
    });
    const deps = activityDepsOn(stack.config, watched);
    closeDeps = deps.close;
    activities = createActivities(deps);
  });
  afterAll(async () => {
    await closeDeps();
    await watched.close();
    await stack.close();
  });
  beforeEach(async () => {
    commands.length = 0;
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });

  const run = <T>(fn: () => Promise<T>, attempt = 1): Promise<T> =>
    new MockActivityEnvironment({ attempt }, { logger: quietTestLogger() }).run(fn);

  const createSend = sendCreator(() => stack, '0001', {
    messageTitle: 'Title',
    messageContent: 'Your code is {{data.code}}',
    data: { code: '1234' },
  });

  it('sends to one recipient id by point lookups only, without totalling the ledger', async () => {
    // Other users and other sends' deliveries: what a scan would read.
    await insertUsers(
      stack,
      Array.from({ length: 200 }, (_, index) => person(`Other${index}`, { clusters: ['others'] })),
    );
    await stack.database.deliveries.insertMany(
      Array.from({ length: 200 }, (_, index) => ({
        _id: `send-old|sms|user${index}`,
        sendId: 'send-old',
        userId: `user${index}`,
        channel: 'sms' as const,
        status: 'sent' as const,
        attempts: 1,
        createdAt: new Date(),
        updatedAt: new Date(),
      })),
    );
    const [userId] = await insertUsers(stack, [person('Otp', { clusters: [] })]);
    const sendId = await createSend({ recipients: [userId] });
    commands.length = 0;

    // The workflow's steps for this send (workflows/send-message.ts), in its order.
    expect(await run(() => activities.recordMissingRecipients({ sendId }))).toBe(0);
    expect(await run(() => activities.snapshotAudience({ sendId, pageSize: 1000 }))).toMatchObject({ pages: 1 });
    expect(await run(() => activities.loadAudiencePage({ sendId, page: 0 }))).toEqual([userId]);
    const result = await run(() => activities.dispatchSms({ sendId, userIds: [userId], page: 0, maxAttempts: 3 }));
    expect(result).toMatchObject({ sent: 1, alreadyDone: 0 });
    const summary = await run(() =>
      activities.finishSend({
        sendId,
        workflowId: sendId,
        recipientCount: 1,
        counts: { sms: { sent: 1 } },
        batchesToRead: [],
      }),
    );
    expect(summary).toMatchObject({ status: 'completed', counts: { sms: { sent: 1 } }, failures: [] });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(1);

    const names = commands.map((event) => event.commandName);
    expect(names).not.toContain('aggregate');
    expect(names).not.toContain('count');
    const scans = commands.flatMap((event) =>
      filtersOf(event)
        .filter((filter) => !isPointLookup(filter))
        .map((filter) => `${event.commandName} ${String(event.command[event.commandName])} ${JSON.stringify(filter)}`),
    );
    expect(scans).toEqual([]);
    // The finished send reads from its document alone.
    expect(await stack.database.sends.findOne({ _id: sendId })).toMatchObject({
      status: 'completed',
      counts: { sms: { sent: 1 } },
      failures: [],
    });
  });

  it("keeps a batch's counts once however often it runs, and totals the send from them", async () => {
    const users = await insertUsers(stack, [person('C1'), person('C2'), { name: 'C3 without phone' }]);
    const sendId = await createSend({ recipients: users });
    await stack.sim('POST', '/faults', { target: 'sms', failNext: 1, status: 503 });
    const input = { sendId, userIds: users, page: 0, maxAttempts: 3 };

    // First attempt: one transient failure, so the activity fails retryably and Temporal would retry it.
    await expect(run(() => activities.dispatchSms(input))).rejects.toMatchObject({ nonRetryable: false });
    // The retry sends the pending one; its result cannot say how the others ended, so it stores the batch's counts.
    expect(await run(() => activities.dispatchSms(input), 2)).toMatchObject({ sent: 1, alreadyDone: 2 });
    // Again (a replay, a reset): the same counts, not twice as many.
    expect(await run(() => activities.dispatchSms(input), 3)).toMatchObject({ sent: 0, alreadyDone: 3 });
    const key = batchCountsKey(sendId, 'sms', 0, users[0]);
    expect(await stack.database.batchCounts.find({ sendId }).toArray()).toEqual([
      expect.objectContaining({ _id: key, counts: { sent: 2, skipped: 1 } }),
    ]);

    const finish = (batchesToRead: string[]) =>
      run(() => activities.finishSend({ sendId, workflowId: sendId, recipientCount: 3, counts: {}, batchesToRead }));
    commands.length = 0;
    const summary = await finish([key]);
    expect(summary).toMatchObject({ counts: { sms: { sent: 2, skipped: 1 } }, failureCount: 0 });
    expect(commands.map((event) => event.commandName)).not.toContain('aggregate');
    // A batch whose counts are not stored (dispatched by an older worker): the ledger is totalled instead.
    expect(await finish([batchCountsKey(sendId, 'sms', 0, 'nobody')])).toMatchObject({
      counts: { sms: { sent: 2, skipped: 1 } },
    });
  });

  it("reports a send's failures from its batches, without a scan", async () => {
    const users = await insertUsers(stack, [person('F1', { phoneNumber: '+15550007777' }), person('F2')]);
    const sendId = await createSend({ recipients: [...users, 'no-such-user'] });
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550007777'] });
    commands.length = 0;

    expect(await run(() => activities.recordMissingRecipients({ sendId }))).toBe(1);
    const result = await run(() => activities.dispatchSms({ sendId, userIds: users, page: 0, maxAttempts: 3 }));
    expect(result).toMatchObject({ sent: 1, failed: 1, alreadyDone: 0 });
    // What the workflow passes: the unknown recipient counted by itself, both batches named.
    const summary = await run(() =>
      activities.finishSend({
        sendId,
        workflowId: sendId,
        recipientCount: 2,
        counts: { sms: { failed: 1 } },
        batchesToRead: [missingRecipientsKey(sendId), batchCountsKey(sendId, 'sms', 0, users[0])],
      }),
    );
    expect(summary).toMatchObject({ counts: { sms: { sent: 1, failed: 2 } }, failureCount: 2 });
    // In key order, as the ledger lists them.
    expect(summary.failures).toEqual(
      [
        { userId: users[0], channel: 'sms', error: expect.any(String), code: expect.any(String) },
        { userId: 'no-such-user', channel: 'sms', error: 'no user has this id', code: 'USER_NOT_FOUND' },
      ].sort((a, b) => (a.userId < b.userId ? -1 : 1)),
    );
    expect(summary.failures).toEqual(
      await stack.database.deliveries
        .find({ sendId, status: 'failed' })
        .sort({ _id: 1 })
        .toArray()
        .then((docs) => docs.map(({ userId, channel, error, code }) => ({ userId, channel, error, code }))),
    );
    const scans = commands.flatMap((event) => filtersOf(event).filter((filter) => !isPointLookup(filter)));
    expect(scans).toEqual([]);
    expect(commands.map((event) => event.commandName)).not.toContain('aggregate');
  });
});
