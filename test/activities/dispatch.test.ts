import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { SendActivities } from '../../activities';
import { insertUsers, person, sendCreator, simMessages, waitFor } from '../support/fixtures';
import { insertAudience, sleep } from '../support/http-sends';
import { quietTestLogger } from '../support/quiet-runtime';
import { useActivityStack } from '../support/activity-stack';
import type { TestStack } from '../support/test-stack';
import { dispatchBatchKey, DeliveriesRepository } from '../../common/store/deliveries-repository';
import { deliveryKey } from '../../common/domain/send-types';

/** Dispatch activities against the simulator (MockActivityEnvironment gives them an activity context). */
describe('dispatch activities', () => {
  const started = useActivityStack();
  let stack: TestStack;
  let activities: SendActivities;
  beforeAll(() => {
    ({ stack, activities } = started);
  });
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });

  const createSend = sendCreator(() => stack, '0000', {
    messageTitle: 'Title {{user.name}}',
    messageContent: 'Body {{user.name}}',
  });

  const run = <T>(fn: () => Promise<T>, attempt = 1) =>
    new MockActivityEnvironment({ attempt }, { logger: quietTestLogger() }).run(fn);

  it('leaves transient failures pending and asks Temporal to retry, then sends once', async () => {
    const [user] = await insertUsers(stack, [person('Transient')]);
    const sendId = await createSend({});
    await stack.sim('POST', '/faults', { target: 'sms', failNext: 1, status: 503, retryAfter: 2 });

    const error = await run(() => activities.dispatchSms({ sendId, userIds: [user], maxAttempts: 3 })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(false);
    expect((error as ApplicationFailure).nextRetryDelay).toBe(2000);
    expect(await stack.database.deliveries.findOne({ sendId })).toMatchObject({
      status: 'pending',
      attempts: 1,
      code: 'TWILIO_20503',
    });

    const result = await run(() => activities.dispatchSms({ sendId, userIds: [user], maxAttempts: 3 }), 2);
    expect(result).toMatchObject({ sent: 1, failed: 0 });
    expect(await stack.database.deliveries.findOne({ sendId })).toMatchObject({ status: 'sent', attempts: 2 });

    // A replayed activity (Temporal retry or workflow reset) finds the delivery sent and sends nothing.
    const replay = await run(() => activities.dispatchSms({ sendId, userIds: [user], maxAttempts: 3 }), 3);
    expect(replay).toMatchObject({ sent: 0, alreadyDone: 1 });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(1);
  });

  it("backs off on a 429 without using up the delivery's attempts", async () => {
    const [user] = await insertUsers(stack, [person('Throttled')]);
    const sendId = await createSend({});
    await stack.sim('POST', '/faults', { target: 'sms', failNext: 2, status: 429, retryAfter: 1 });
    for (const attempt of [1, 2]) {
      const error = (await run(
        () => activities.dispatchSms({ sendId, userIds: [user], maxAttempts: 1 }),
        attempt,
      ).catch((e: unknown) => e)) as ApplicationFailure;
      expect(error.nonRetryable).toBe(false);
      expect(error.nextRetryDelay).toBe(1000);
      expect(await stack.database.deliveries.findOne({ sendId })).toMatchObject({
        status: 'pending',
        attempts: 0,
        code: 'TWILIO_20429',
      });
    }
    const result = await run(() => activities.dispatchSms({ sendId, userIds: [user], maxAttempts: 1 }), 3);
    expect(result).toMatchObject({ sent: 1, failed: 0 });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(1);
  });

  it('fails a permanent refusal at once with a non-retryable failure carrying the code', async () => {
    const [user] = await insertUsers(stack, [person('Unregistered', { deviceToken: 'dead-token' })]);
    const sendId = await createSend({ channels: ['push'] });
    await stack.sim('POST', '/faults', { target: 'push', rejectAddresses: ['dead-token'] });
    const error = (await run(() => activities.dispatchPush({ sendId, userIds: [user], maxAttempts: 3 })).catch(
      (e: unknown) => e,
    )) as ApplicationFailure;
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error.nonRetryable).toBe(true);
    expect(error.type).toBe('PermanentProviderError');
    expect(error.details?.[0]).toMatchObject({ code: 'FCM_UNREGISTERED' });
    expect(await stack.database.deliveries.findOne({ sendId })).toMatchObject({
      status: 'failed',
      permanent: true,
      code: 'FCM_UNREGISTERED',
    });
  });

  it('turns the last transient attempt into a final failure', async () => {
    const [user] = await insertUsers(stack, [person('Exhausted')]);
    const sendId = await createSend({ channels: ['voice'] });
    await stack.sim('POST', '/faults', { target: 'voice', failForMs: 30000, status: 500 });
    const error = (await run(() => activities.dispatchVoice({ sendId, userIds: [user], maxAttempts: 1 })).catch(
      (e: unknown) => e,
    )) as ApplicationFailure;
    expect(error.type).toBe('RetriesExhausted');
    expect(error.nonRetryable).toBe(true);
    expect(await stack.database.deliveries.findOne({ sendId })).toMatchObject({
      status: 'failed',
      attempts: 1,
      code: 'KALEYRA_E500',
    });
  });

  it('batches: records each outcome, and retries only what is still pending', async () => {
    const users = await insertUsers(stack, [
      person('B1'),
      person('B2', { phoneNumber: '+15550009999' }),
      { name: 'B3 without phone' },
      person('B4'),
    ]);
    const sendId = await createSend({});
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550009999'] });
    const result = await run(() => activities.dispatchSms({ sendId, userIds: users, maxAttempts: 3 }));
    expect(result).toEqual({ sent: 2, failed: 1, skipped: 1, alreadyDone: 0 });
    const again = await run(() => activities.dispatchSms({ sendId, userIds: users, maxAttempts: 3 }), 2);
    expect(again).toEqual({ sent: 0, failed: 0, skipped: 0, alreadyDone: 4 });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(2);
  });

  it('an attempt after a crash between the claims and the calls sends each delivery once', async () => {
    const users = await insertUsers(stack, [person('Crash1'), person('Crash2'), person('Crash3')]);
    const sendId = await createSend({});
    // The first attempt claimed the batch and its deliveries, then its worker died before any call.
    const ledger = new DeliveriesRepository(stack.database);
    expect(await ledger.claimDispatch(sendId, 'sms', users)).toBe(true);
    expect(await ledger.claimDeliveries(sendId, 'sms', dispatchBatchKey(sendId, 'sms', users), users)).toEqual(
      new Set(),
    );
    const result = await run(() => activities.dispatchSms({ sendId, userIds: users, page: 0, maxAttempts: 3 }), 2);
    expect(result).toEqual({ sent: 3, failed: 0, skipped: 0, alreadyDone: 0 });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(3);
  });

  it('leaves a delivery whose claim another batch holds to that batch', async () => {
    const users = await insertUsers(stack, [person('Held1'), person('Held2'), person('Held3')]);
    const sendId = await createSend({});
    // Another batch of the send claimed the second user and is still calling the provider.
    await new DeliveriesRepository(stack.database).claimDeliveries(sendId, 'sms', 'another batch', [users[1]]);
    const result = await run(() => activities.dispatchSms({ sendId, userIds: users, page: 0, maxAttempts: 3 }));
    expect(result).toEqual({ sent: 2, failed: 0, skipped: 0, alreadyDone: 1 });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(2);
    expect(await stack.database.deliveries.findOne({ _id: deliveryKey(sendId, 'sms', users[1]) })).toBeNull();
    // Its counts leave that one to the batch that holds it.
    expect(await stack.database.batchCounts.findOne({ sendId })).toMatchObject({ counts: { sent: 2 } });
  });

  it('sends email attachments downloaded once from the Files Service', async () => {
    const users = await insertUsers(stack, [person('Att1'), person('Att2')]);
    const sendId = await createSend({ channels: ['email'], emailAttachments: ['welcome.pdf', 'terms.txt'] });
    await run(() => activities.dispatchEmail({ sendId, userIds: users, maxAttempts: 3 }));
    const emails = await simMessages(stack, 'channel=email');
    expect(emails).toHaveLength(2);
    for (const email of emails) expect(email.attachments!.map((a) => a.filename)).toEqual(['welcome.pdf', 'terms.txt']);
    const stats = await stack.sim<{ requests: Record<string, number> }>('GET', '/stats');
    expect(stats.requests['files-service']).toBe(2);
  });

  it('records a listed recipient that matches no user once per channel', async () => {
    const sendId = await createSend({ channels: ['sms', 'email'], recipients: ['ghost-1'] });
    expect(await run(() => activities.recordMissingRecipients({ sendId }))).toBe(1);
    expect(await stack.database.deliveries.countDocuments({ sendId, code: 'USER_NOT_FOUND', status: 'failed' })).toBe(
      2,
    );
  });

  it("a retry round's dispatch touches only the entries its own round claimed", async () => {
    const users = await insertUsers(stack, [person('Round1'), person('Round2')]);
    const sendId = await createSend({});
    await stack.sim('POST', '/faults', { target: 'sms', failNext: 2, status: 500 });
    const firstRun = await run(() => activities.dispatchSms({ sendId, userIds: users, maxAttempts: 1 }));
    expect(firstRun).toMatchObject({ sent: 0, failed: 2 });
    await stack.sim('DELETE', '/faults');
    const claimed = (await run(() =>
      activities.claimFailedDeliveries({ sendId, round: 2, after: null, limit: 100 }),
    )) as Awaited<ReturnType<SendActivities['claimFailedDeliveries']>>;
    expect(claimed.byChannel.sms?.sort()).toEqual([...users].sort());
    const entriesOfRound2 = await stack.database.deliveries.find({ sendId }).sort({ _id: 1 }).toArray();

    // A stale dispatch of round 1 (an attempt that outlived its round) finds them claimed by round 2.
    const stale = await run(() => activities.dispatchSms({ sendId, userIds: users, maxAttempts: 1, retryRound: 1 }));

    // So does a late attempt of the first run's audience page.
    const firstRunPage = await run(() => activities.dispatchSms({ sendId, userIds: users, maxAttempts: 1, page: 0 }));

    expect(stale).toEqual({ sent: 0, failed: 0, skipped: 0, alreadyDone: 2 });
    expect(firstRunPage).toEqual({ sent: 0, failed: 0, skipped: 0, alreadyDone: 2 });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(0);
    expect(await stack.database.deliveries.find({ sendId }).sort({ _id: 1 }).toArray()).toEqual(entriesOfRound2);

    const own = await run(() => activities.dispatchSms({ sendId, userIds: users, maxAttempts: 1, retryRound: 2 }));
    expect(own).toMatchObject({ sent: 2, alreadyDone: 0 });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(2);
  });

  // Last in the file: the 429 leaves the sms channel of these activities paused for a few seconds.
  it('a cancelled attempt waiting for a paused channel ends at once and starts no call', async () => {
    // 30 users: the first 16 calls go out at once (one gets the 429 and pauses the channel), the other 14 wait.
    const users = (await insertAudience(stack, 'paused', 30, 'paused')).map((user) => user.id);
    const sendId = await createSend({});
    await stack.sim('POST', '/faults', { target: 'sms', failNext: 1, status: 429, retryAfter: 3 });
    const environment = new MockActivityEnvironment({ attempt: 1 }, { logger: quietTestLogger() });
    const running = environment
      .run(() => activities.dispatchSms({ sendId, userIds: users, maxAttempts: 3 }))
      .catch((e: unknown) => e);
    const smsCount = async () => (await simMessages(stack, 'channel=sms')).length;
    await waitFor(async () => (await smsCount()) >= 15);
    const cancelledAt = Date.now();
    environment.cancel();
    const error = (await running) as ApplicationFailure;
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    expect(error.type).toBe('DispatchCancelled');
    const sent = await smsCount();
    expect(sent).toBeLessThan(29);
    // Well past the pause: the waiting calls never went out, and stay claimed by the batch with no outcome recorded
    // (the 429 left its delivery pending, no attempt counted), for the next attempt.
    await sleep(3500);
    expect(await smsCount()).toBe(sent);
    expect(await stack.database.deliveries.countDocuments({ sendId, status: 'sent' })).toBe(sent);
    expect(await stack.database.deliveries.countDocuments({ sendId, status: { $ne: 'sent' } })).toBeLessThanOrEqual(1);
    expect(
      await stack.database.deliveries.countDocuments({ sendId, attempts: { $gt: 0 }, status: { $ne: 'sent' } }),
    ).toBe(0);
    const batch = dispatchBatchKey(sendId, 'sms', users);
    expect(await stack.database.dispatchClaims.countDocuments({ sendId, owner: batch })).toBe(30);
  }, 20_000);
});
