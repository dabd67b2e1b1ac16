import { ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { insertUsers, person, postSagaCommand, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * A worker that dies mid-send (SIGKILL, no graceful shutdown) loses nothing: Temporal notices the missing
 * heartbeats, retries the batch on the restarted worker, and the ledger skips what was recorded as sent.
 * Duplicates are bounded by the deliveries in flight at the kill (docs/development.md "Tests"), and counted here.
 */
describe('crash safety', () => {
  let stack: TestStack;
  const templateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      fanOut: { pageSize: 50, chunkSize: 10, perDeliveryLimit: 5, pagesPerRun: 2, heartbeatTimeoutMs: 2000 },
      service: {
        // Paced, so that the kill lands mid-send whatever the machine's speed: 60 messages over 3 seconds.
        rateLimits: { sms: { perSecond: 20 } },
        flowManagerConfiguration: {
          successEventLabel: 'notificationSent',
          failEventLabel: 'notificationFailed',
          metadataSchema: { channels: 'channels', clusters: 'clusters', templateId: 'template' },
        },
      },
    });
    await stack.database.templates.insertOne({ _id: templateId, name: 'crash', smsMessage: 'Hello {{user.name}}' });
  });
  afterAll(() => stack.close());

  it('a saga send survives kill -9 of its worker: every user reached, one success event, duplicates counted', async () => {
    const size = 60;
    await insertUsers(
      stack,
      Array.from({ length: size }, (_, index) => person(`Crash${index}`, { clusters: ['crash'] })),
    );
    await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 40 });
    let worker = await stack.spawnWorkerProcess();

    const sagaId = `crash-${randomUUID()}`;
    const response = await postSagaCommand(
      stack,
      sagaId,
      { channels: ['sms'], clusters: ['crash'], template: templateId.toHexString() },
      'send',
    );
    expect(response.statusCode).toBe(200);

    await waitFor(async () => ((await simMessages(stack, 'channel=sms')).length >= 10 ? true : undefined));
    worker.child.kill('SIGKILL');
    await worker.stop();
    // Calls the dead worker had in flight still land after the simulator's 40 ms latency: count them as sent at the
    // kill.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const atKill = (await simMessages(stack, 'channel=sms')).length;
    // With the only worker dead, nothing is sent or recorded until the restart.
    const recordedAtKill = await stack.database.deliveries.countDocuments({
      sendId: `saga-${sagaId}`,
      status: 'sent',
    });
    worker = await stack.spawnWorkerProcess();

    const events = await waitFor(async () => {
      const found = (await simMessages(stack, 'channel=event')).filter((event) => event.to === sagaId);
      return found.length > 0 ? found : undefined;
    }, 50000);
    // The success event went as the send started (eventsWhen "started", the default): the send ends after it.
    await stack.temporal.workflow.getHandle(`saga-${sagaId}`).result();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await simMessages(stack, 'channel=event')).filter((event) => event.to === sagaId)).toHaveLength(1);
    expect((events[0].data as { value: { messageLabel: string } }).value.messageLabel).toBe('notificationSent');

    const sms = await simMessages(stack, 'channel=sms');
    const perUser = new Map<string, number>();
    for (const message of sms) perUser.set(message.to, (perUser.get(message.to) ?? 0) + 1);
    const duplicates = sms.length - perUser.size;
    console.log(
      `crash-safety: ${size} users, ${atKill} delivered and ${recordedAtKill} recorded at the kill, ` +
        `${duplicates} duplicates after restart`,
    );
    expect(perUser.size).toBe(size);
    // Only what the provider accepted and the ledger had not yet recorded at the kill can be sent again: with
    // every batch of 10 in flight at once, that can be most of the send.
    expect(duplicates).toBeLessThanOrEqual(atKill - recordedAtKill);
    const ledger = await stack.database.deliveries.countDocuments({ sendId: `saga-${sagaId}`, status: 'sent' });
    expect(ledger).toBe(size);
    await worker.stop();
  }, 90000);
});
