import { ObjectId } from 'mongodb';
import { digestId } from '../../common/temporal/workflow-ids';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A worker killed (SIGKILL) while a digest flushes: the flush's activity is retried on the restarted worker and finds
 * the send it stored, under the same derived id, so the digest goes out once.
 */
describe('a digest whose worker dies during the flush', () => {
  let stack: TestStack;
  const templateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    await stack.database.templates.insertOne({
      _id: templateId,
      name: 'crash',
      smsMessage: '{{data.eventCount}} new:{{#each data.events}} {{this.data.text}}{{/each}}',
    });
  });
  afterAll(() => stack.close());

  it('sends it once', async () => {
    let worker = await stack.spawnWorkerProcess();
    const user = person('Crash');
    const [userId] = await insertUsers(stack, [user]);
    for (const text of ['a', 'b', 'c']) {
      const response = await stack.app.inject({
        method: 'POST',
        url: '/events',
        payload: {
          userId,
          digestKey: 'crash',
          channels: ['sms'],
          templateId: templateId.toHexString(),
          data: { text },
          digest: { window: 'PT2S' },
        },
      });
      expect(response.statusCode).toBe(202);
    }
    const id = digestId(userId, 'crash');
    // Killed as the flush records itself: before or after its activity ended, before or after the send started.
    await waitFor(async () =>
      (await stack.database.digestFlushes.countDocuments({ digestId: id })) > 0 ? true : undefined,
    );
    worker.child.kill('SIGKILL');
    await worker.stop();
    worker = await stack.spawnWorkerProcess();

    const sent = async () =>
      (await simMessages(stack, 'channel=sms')).filter((message) => message.to === user.phoneNumber);
    await waitFor(async () => ((await sent()).length > 0 ? true : undefined), 60_000);
    await waitFor(async () => {
      const send = await stack.database.sends.findOne({ digestId: id });
      return send?.status === 'completed' ? true : undefined;
    }, 30_000);
    await sleep(2000);
    expect((await sent()).map((message) => message.body)).toEqual(['3 new: a b c']);
    expect(await stack.database.digestFlushes.countDocuments({ digestId: id })).toBe(1);
    expect(await stack.database.sends.countDocuments({ digestId: id })).toBe(1);
    await worker.stop();
  }, 120_000);
});
