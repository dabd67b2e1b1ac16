import { ObjectId } from 'mongodb';
import { digestId } from '../../common/temporal/workflow-ids';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/** A digest's flush meets the user's preferences as any send does (docs/digests.md, docs/preferences.md). */
describe('digest preferences', () => {
  let stack: TestStack;
  const templateId = new ObjectId();
  const newsTemplateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack({ service: { criticalCategories: ['security'] } });
    await stack.database.templates.insertMany([
      { _id: templateId, name: 'comments', smsMessage: '{{data.eventCount}} new' },
      { _id: newsTemplateId, name: 'news', category: 'news', smsMessage: '{{data.eventCount}} news' },
    ]);
  });
  afterAll(() => stack.close());

  const inject = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const post = async (userId: string, digestKey: string, extra: Record<string, unknown> = {}) => {
    const response = await inject('POST', '/events', {
      userId,
      digestKey,
      channels: ['sms'],
      templateId: templateId.toHexString(),
      data: {},
      digest: { window: 'PT2S' },
      ...extra,
    });
    expect(response.statusCode).toBe(202);
  };
  const newUser = async (name: string, preferences: object) => {
    const user = person(name);
    const [id] = await insertUsers(stack, [user]);
    expect((await inject('PUT', `/users/${id}/preferences`, preferences)).statusCode).toBe(200);
    return { id, phone: user.phoneNumber };
  };
  /** The ledger of the digest's first flush, once its send has ended. */
  const flushLedger = async (userId: string, digestKey: string) => {
    const sendId = await waitFor(async () => {
      const detail = (await inject('GET', `/digests/${digestId(userId, digestKey)}`)).json();
      const flush = detail.flushes?.[0];
      if (!flush) return undefined;
      const send = (await inject('GET', `/sends/${flush.sendId}`)).json();
      return send.status === 'completed' ? (flush.sendId as string) : undefined;
    });
    return (await inject('GET', `/sends/${sendId}/deliveries`)).json<{ deliveries: Record<string, unknown>[] }>()
      .deliveries;
  };
  const smsTo = async (phone: string) => (await simMessages(stack, 'channel=sms')).filter((m) => m.to === phone);

  it("skips the flush OPTED_OUT for a user who turned the events' category off, the first event's category deciding", async () => {
    const { id, phone } = await newUser('DigestCategoryOff', { categories: { comments: false } });
    await post(id, 'off', { category: 'comments' });
    await post(id, 'off', { category: 'orders' });
    expect(await flushLedger(id, 'off')).toEqual([
      expect.objectContaining({ userId: id, channel: 'sms', status: 'skipped', code: 'OPTED_OUT' }),
    ]);
    // The first event's category decides the whole flush: orders alone would go.
    await post(id, 'on', { category: 'orders' });
    await post(id, 'on', { category: 'comments' });
    expect(await flushLedger(id, 'on')).toEqual([expect.objectContaining({ status: 'sent' })]);
    expect((await smsTo(phone)).map((m) => m.body)).toEqual(['2 new']);
  });

  it("skips the flush of a channel turned off, and of a template's category; a critical event goes whatever", async () => {
    const { id } = await newUser('DigestChannelOff', { channels: { sms: false }, categories: { news: false } });
    await post(id, 'channel');
    expect(await flushLedger(id, 'channel')).toEqual([
      expect.objectContaining({ status: 'skipped', code: 'OPTED_OUT' }),
    ]);
    const other = await newUser('DigestTemplateCategory', { categories: { news: false } });
    await post(other.id, 'news', { templateId: newsTemplateId.toHexString() });
    expect(await flushLedger(other.id, 'news')).toEqual([
      expect.objectContaining({ status: 'skipped', code: 'OPTED_OUT' }),
    ]);
    await post(id, 'critical', { critical: true });
    expect(await flushLedger(id, 'critical')).toEqual([expect.objectContaining({ status: 'sent', critical: true })]);
    await post(id, 'security', { category: 'security' });
    expect(await flushLedger(id, 'security')).toEqual([expect.objectContaining({ status: 'sent', critical: true })]);
  });

  it('refuses a bad category, and a notification (digests send by templateId), as a 400 naming the field', async () => {
    const [id] = await insertUsers(stack, [person('DigestBadCategory')]);
    const response = await inject('POST', '/events', {
      userId: id,
      digestKey: 'bad',
      channels: ['sms'],
      templateId: templateId.toHexString(),
      category: 'bad.name',
      digest: { window: 'PT2S' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('category');
    const byNotification = await inject('POST', '/events', {
      userId: id,
      digestKey: 'bad',
      channels: ['sms'],
      notification: 'order shipped',
      digest: { window: 'PT2S' },
    });
    expect(byNotification.statusCode).toBe(400);
    expect(byNotification.json().message).toContain('notification');
  });
});
