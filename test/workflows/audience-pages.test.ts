import { BSON, ObjectId } from 'mongodb';
import { startWorkerWithStandIns, type StandInWorker } from '../support/activity-stack';
import { insertUsers, person, postSagaCommand, simMessages, waitFor, type SimMessage } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const FLOW_MANAGER = {
  successEventLabel: 'notificationSent',
  failEventLabel: 'notificationFailed',
  metadataSchema: {
    messageTitle: 'title',
    messageContent: 'text',
    channels: 'notification.channels',
    recipients: 'buyer.id',
  },
};

/**
 * The page loop against the audience snapshot (docs/internals.md): pages closed by their byte budget are short yet not
 * the last, and a snapshot that fails for good fails the send with its error instead of leaving it `running`. The
 * snapshot here holds its completion for a while, so that the pages are read while it is still being taken.
 */
describe('the page loop and the audience snapshot', () => {
  let stack: TestStack;
  let worker: StandInWorker;

  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      fanOut: {
        pageSize: 10,
        chunkSize: 5,
        perDeliveryLimit: 0,
        pagesPerRun: 3,
        heartbeatTimeoutMs: 3000,
        pageBytes: 4096,
      },
      service: { flowManagerConfiguration: FLOW_MANAGER },
    });
    worker = await startWorkerWithStandIns(stack, (activities) => ({
      async snapshotAudience(input: Parameters<typeof activities.snapshotAudience>[0]) {
        const summary = await activities.snapshotAudience(input);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        return summary;
      },
    }));
  });
  afterAll(async () => {
    await worker.stop();
    await stack.close();
  });

  const sendDetail = async (sendId: string) =>
    (await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json<{
      status: string;
      error: string | null;
    }>();

  it('dispatches every page, short ones closed by their byte budget included, each user once', async () => {
    // Users of about 1.5 kB in pages of at most 4 kB: two a page, where 10 would fit by count.
    const bio = 'x'.repeat(1500);
    const ids = await insertUsers(
      stack,
      Array.from({ length: 12 }, (_, index) => person(`Wide${index}`, { clusters: ['wide'], bio })),
    );
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['sms'], clusters: ['wide'], messageTitle: 'T', messageContent: 'Hi {{user.name}}' },
    });
    expect(response.statusCode).toBe(200);
    const { sendId } = response.json<{ sendId: string }>();

    await waitFor(async () => (await sendDetail(sendId)).status !== 'running', 60_000);
    expect(await sendDetail(sendId)).toMatchObject({ status: 'completed', error: null });
    const pages = await stack.database.audiencePages.find({ sendId }).toArray();
    expect(pages.length).toBe(6);
    const sent = (await simMessages(stack, 'channel=sms')).filter((message: SimMessage) =>
      String(message.text ?? message.body).startsWith('Hi Wide'),
    );
    expect(sent.length).toBe(12);
    expect(new Set(sent.map((message) => message.text ?? message.body)).size).toBe(12);
    const deliveries = await stack.database.deliveries.find({ sendId }).toArray();
    expect(deliveries.map((delivery) => delivery.userId).sort()).toEqual([...ids].sort());
  });

  it('fails a saga send whose snapshot failed for good, with its error and its fail event', async () => {
    // As large as the store takes a document: no page can hold it, on any attempt.
    const huge: Record<string, unknown> = { _id: new ObjectId(), ...person('Huge', { bio: '' }) };
    huge.bio = 'x'.repeat(16 * 1024 * 1024 - 16 - BSON.calculateObjectSize(huge));
    await stack.database.users.insertOne(huge);
    const sagaId = `saga-huge-${Date.now()}`;
    const command = await postSagaCommand(stack, sagaId, {
      notification: { channels: ['sms'] },
      buyer: { id: (huge._id as ObjectId).toHexString() },
      title: 'T',
      text: 'C',
    });
    expect(command.statusCode).toBe(200);
    const sendId = `saga-${sagaId}`;

    const failed = await waitFor(async () => {
      const send = await stack.database.sends.findOne({ _id: sendId });
      return send?.status === 'failed' && send;
    }, 60_000);
    expect(failed.audienceError).toMatch(/too large to copy/);
    expect((await sendDetail(sendId)).error).toMatch(/too large to copy/);
    const labels = await waitFor(async () => {
      const events = (await simMessages(stack, 'channel=event')).filter((event) => event.to === sagaId);
      return events.length > 0 && events.map((event) => (event.data as { value: { messageLabel: string } }).value);
    });
    expect(labels.map((value) => value.messageLabel)).toEqual(['notificationFailed']);
    await stack.database.users.deleteOne({ _id: huge._id as ObjectId });
  });
});
