import { ObjectId } from 'mongodb';
import { digestId } from '../../common/temporal/workflow-ids';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `POST /sends/cancel` reaches the pending events of its key (docs/digests.md). */
describe('digest cancellation keys', () => {
  let stack: TestStack;
  const templateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.database.templates.insertOne({
      _id: templateId,
      name: 'comments',
      smsMessage: '{{data.eventCount}} new:{{#each data.events}} {{this.data.text}}{{/each}}',
    });
  });
  afterAll(() => stack.close());

  const inject = (method: 'GET' | 'POST', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const post = async (userId: string, digestKey: string, text: string, extra: Record<string, unknown> = {}) => {
    const response = await inject('POST', '/events', {
      userId,
      digestKey,
      channels: ['sms'],
      templateId: templateId.toHexString(),
      data: { text },
      digest: { window: 'PT3S' },
      ...extra,
    });
    expect(response.statusCode).toBe(202);
    return response.json<{ eventId: string }>().eventId;
  };
  const smsTo = async (phone: string) =>
    (await simMessages(stack, 'channel=sms')).filter((m) => m.to === phone).map((m) => m.body);

  it('removes the pending events of a cancellation key; the digest sends the others, an emptied one nothing', async () => {
    const user = person('DigestCancel');
    const [id] = await insertUsers(stack, [user]);
    const key = 'post-42-deleted';
    const cancelled = await post(id, 'comments', 'gone', { cancellationKey: key });
    await post(id, 'comments', 'kept');
    const alone = await post(id, 'alone', 'gone too', { cancellationKey: key });

    const response = await inject('POST', '/sends/cancel', { cancellationKey: key });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      cancellationKey: key,
      cancelled: [],
      requests: [],
      events: [
        { eventId: cancelled, removedFrom: [digestId(id, 'comments')] },
        { eventId: alone, removedFrom: [digestId(id, 'alone')] },
      ],
    });
    expect(await waitFor(async () => (await smsTo(user.phoneNumber)).length > 0 && smsTo(user.phoneNumber))).toEqual([
      '1 new: kept',
    ]);
    await sleep(3500);
    expect(await smsTo(user.phoneNumber)).toEqual(['1 new: kept']);
    // Nothing is left to cancel: a repeat removes nothing.
    expect((await inject('POST', '/sends/cancel', { cancellationKey: key })).json().events).toEqual([]);
  });

  it('leaves an event its digest has flushed as it is, and refuses a key over 128 characters', async () => {
    const user = person('DigestCancelLate');
    const [id] = await insertUsers(stack, [user]);
    await post(id, 'late', 'sent', { cancellationKey: 'late', digest: { window: 'PT1S' } });
    await waitFor(async () => (await smsTo(user.phoneNumber)).length > 0);
    expect((await inject('POST', '/sends/cancel', { cancellationKey: 'late' })).json().events).toEqual([]);
    const tooLong = await inject('POST', '/events', {
      userId: id,
      digestKey: 'late',
      channels: ['sms'],
      templateId: templateId.toHexString(),
      cancellationKey: 'k'.repeat(129),
      digest: { window: 'PT1S' },
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().message).toContain('cancellationKey');
  });
});
