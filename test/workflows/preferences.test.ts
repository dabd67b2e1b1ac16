import { ObjectId } from 'mongodb';
import { ThrottleClaimsRepository } from '../../common/store/throttle-claims-repository';
import { insertUsers, person, simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/** Users' preferences on the real stack (docs/preferences.md): what each user turned off is skipped, never failed. */
describe('preferences', () => {
  let stack: TestStack;
  const marketingTemplate = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack({ service: { criticalCategories: ['security'] } });
    await stack.database.templates.insertOne({
      _id: marketingTemplate,
      name: 'sale',
      category: 'marketing',
      emailTitle: 'Sale',
      emailMessage: 'Sale for {{user.name}}',
      smsMessage: 'Sale for {{user.name}}',
    });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
  });

  const inject = (method: 'GET' | 'PUT' | 'PATCH' | 'POST', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const send = async (payload: object) => {
    const response = await inject('POST', '/send', {
      messageTitle: 'Hi',
      messageContent: 'Hi {{user.name}}',
      ...payload,
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ sendId: string; failures: unknown[] }>();
  };
  const ledger = async (sendId: string) =>
    (await inject('GET', `/sends/${sendId}/deliveries`)).json<{ deliveries: Record<string, unknown>[] }>().deliveries;
  const received = async (channel: string) => (await simMessages(stack, `channel=${channel}`)).map((m) => m.to);

  it('validates preferences, 400 naming the field, and stores nothing then', async () => {
    const [userId] = await insertUsers(stack, [person('Valid')]);
    const url = `/users/${userId}/preferences`;
    for (const [body, field] of [
      [{ channels: { pigeon: true } }, 'channels'],
      [{ channels: { sms: 'no' } }, 'channels.sms'],
      [{ categories: { 'bad.name': false } }, 'categories'],
      [{ categories: { marketing: { fax: false } } }, 'categories.marketing'],
      [{ quietHours: { start: '25:00', end: '07:00' } }, 'quietHours.start'],
      [{ quietHours: { start: '22:00', end: '07:00', days: ['someday'] } }, 'quietHours.days'],
    ] as const) {
      const response = await inject('PUT', url, body);
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toContain(field);
    }
    expect((await inject('GET', url)).json()).toEqual({ userId, channels: {}, categories: {}, updatedAt: null });
    expect((await inject('GET', `/users/${new ObjectId().toHexString()}/preferences`)).statusCode).toBe(404);
  });

  it('replaces them with PUT and changes only what PATCH names', async () => {
    const [userId] = await insertUsers(stack, [person('Patched')]);
    const url = `/users/${userId}/preferences`;
    const put = await inject('PUT', url, {
      channels: { sms: false },
      categories: { marketing: { email: false } },
      quietHours: { start: '22:00', end: '07:00' },
    });
    expect(put.statusCode).toBe(200);
    const patched = await inject('PATCH', url, {
      channels: { push: false },
      categories: { news: false },
      quietHours: null,
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      userId,
      channels: { sms: false, push: false },
      categories: { marketing: { email: false }, news: false },
    });
    expect(patched.json().quietHours).toBeUndefined();
    expect((await inject('GET', url)).json()).toEqual(patched.json());
  });

  it("erases a user's preferences and throttle slots with the user", async () => {
    const [userId] = await insertUsers(stack, [person('Erased')]);
    await inject('PUT', `/users/${userId}/preferences`, { channels: { email: false } });
    await send({ channels: ['sms'], recipients: [userId], throttle: { limit: 1, window: 'PT1H' } });
    expect(await stack.database.throttleClaims.countDocuments({ scope: `sms|${userId}|` })).toBe(1);
    const erased = await inject('POST', '/erasures', { userId });
    expect(erased.statusCode).toBe(200);
    expect(erased.json().touched).toMatchObject({ users: 1, preferences: 1, throttleClaims: 1 });
    expect(await stack.database.preferences.countDocuments({ _id: userId })).toBe(0);
    expect(await stack.database.throttleClaims.countDocuments({ scope: `sms|${userId}|` })).toBe(0);
  });

  it('sends email only to a user who turned sms off, the sms skipped OPTED_OUT and never a failure', async () => {
    const [off, on] = await insertUsers(stack, [person('SmsOff'), person('SmsOn')]);
    expect((await inject('PUT', `/users/${off}/preferences`, { channels: { sms: false } })).statusCode).toBe(200);
    const { sendId, failures } = await send({ channels: ['email', 'sms'], recipients: [off, on] });
    expect(failures).toEqual([]);
    expect(await received('email')).toHaveLength(2);
    expect(await received('sms')).toHaveLength(1);
    const smsOff = (await ledger(sendId)).find((entry) => entry.userId === off && entry.channel === 'sms');
    expect(smsOff).toMatchObject({ status: 'skipped', code: 'OPTED_OUT', attempts: 0 });
    const detail = (await inject('GET', `/sends/${sendId}`)).json();
    expect(detail.counts).toEqual({ email: { sent: 2 }, sms: { sent: 1, skipped: 1 } });
    expect(detail.failures).toEqual([]);
  });

  it('refuses a category that is not a name on a send and on a template', async () => {
    const send = await inject('POST', '/send', {
      channels: ['sms'],
      recipients: ['x'],
      messageTitle: 'a',
      messageContent: 'b',
      category: 'a.b',
    });
    expect(send.statusCode).toBe(400);
    expect(send.json().message).toMatch(/^category/);
    const template = await inject('POST', '/templates', { name: 'bad-category', smsMessage: 'Hi', category: 'a.b' });
    expect(template.statusCode).toBe(400);
    expect(template.json().message).toMatch(/^category/);
  });

  it("turns a category off on email only, the template's category applying unless the send names another", async () => {
    const [userId] = await insertUsers(stack, [person('NoMarketingMail')]);
    await inject('PUT', `/users/${userId}/preferences`, { categories: { marketing: { email: false } } });
    const fromTemplate = await send({
      channels: ['email', 'sms'],
      recipients: [userId],
      templateId: marketingTemplate.toHexString(),
    });
    expect(await received('email')).toHaveLength(0);
    expect(await received('sms')).toHaveLength(1);
    expect((await inject('GET', `/sends/${fromTemplate.sendId}`)).json().counts).toEqual({
      email: { skipped: 1 },
      sms: { sent: 1 },
    });

    await stack.sim('DELETE', '/messages');
    await send({
      channels: ['email'],
      recipients: [userId],
      templateId: marketingTemplate.toHexString(),
      category: 'orders',
    });
    expect(await received('email')).toHaveLength(1);
  });

  it('lets a critical send through whatever the preferences, and its ledger entries say so', async () => {
    const [userId] = await insertUsers(stack, [person('Critical')]);
    await inject('PUT', `/users/${userId}/preferences`, { channels: { sms: false }, categories: { security: false } });
    const flagged = await send({ channels: ['sms'], recipients: [userId], critical: true });
    expect(await ledger(flagged.sendId)).toEqual([expect.objectContaining({ status: 'sent', critical: true })]);
    const byCategory = await send({ channels: ['sms'], recipients: [userId], category: 'security' });
    expect(await ledger(byCategory.sendId)).toEqual([expect.objectContaining({ status: 'sent', critical: true })]);
    expect(await received('sms')).toHaveLength(2);
    const ordinary = await send({ channels: ['sms'], recipients: [userId] });
    expect(await ledger(ordinary.sendId)).toEqual([expect.objectContaining({ status: 'skipped', code: 'OPTED_OUT' })]);
  });

  it('lets 2 of 5 concurrent sends through a throttle of 2 per hour, the rest skipped THROTTLED; a critical one goes', async () => {
    const [userId] = await insertUsers(stack, [person('Throttled')]);
    const throttle = { limit: 2, window: 'PT1H', key: 'promo' };
    const sends = await Promise.all(
      Array.from({ length: 5 }, () => send({ channels: ['sms'], recipients: [userId], throttle })),
    );
    expect(sends.every(({ failures }) => failures.length === 0)).toBe(true);
    expect(await received('sms')).toHaveLength(2);
    const entries = (await Promise.all(sends.map(({ sendId }) => ledger(sendId)))).flat();
    expect(entries.filter((entry) => entry.status === 'sent')).toHaveLength(2);
    expect(entries.filter((entry) => entry.status === 'skipped' && entry.code === 'THROTTLED')).toHaveLength(3);
    await send({ channels: ['sms'], recipients: [userId], throttle, critical: true });
    expect(await received('sms')).toHaveLength(3);
    // Another key counts apart.
    await send({ channels: ['sms'], recipients: [userId], throttle: { ...throttle, key: 'news' } });
    expect(await received('sms')).toHaveLength(4);

    for (const [bad, field] of [
      [{ limit: 0, window: 'PT1H' }, 'throttle.limit'],
      [{ limit: 1, window: 'PT30S' }, 'throttle.window'],
      [{ limit: 1, window: 'an hour' }, 'throttle.window'],
    ] as const) {
      const refused = await inject('POST', '/send', {
        channels: ['sms'],
        recipients: [userId],
        messageTitle: 'a',
        messageContent: 'b',
        throttle: bad,
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().message).toMatch(new RegExp(`^${field.replace('.', '\\.')}`));
    }
  });

  it("reuses a throttle's slot once its window has passed, and gives a retried delivery its own slot back", async () => {
    const claims = new ThrottleClaimsRepository(stack.database);
    const scope = `sms|${new ObjectId().toHexString()}|`;
    const claim = (delivery: string) => claims.claim(scope, delivery, 2, 400);
    expect([await claim('d1'), await claim('d2'), await claim('d3')]).toEqual([true, true, false]);
    expect(await claim('d1')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect([await claim('d3'), await claim('d4'), await claim('d5')]).toEqual([true, true, false]);
  });

  it('skips the opted-out users of a send in batches, counted under skipped', async () => {
    const users = await insertUsers(
      stack,
      Array.from({ length: 24 }, (_, index) => person(`Batch${index}`)),
    );
    const optedOut = users.filter((_, index) => index % 3 === 0);
    for (const userId of optedOut)
      await inject('PATCH', `/users/${userId}/preferences`, { channels: { email: false } });
    const { sendId, failures } = await send({ channels: ['email'], recipients: users });
    expect(failures).toEqual([]);
    expect(await received('email')).toHaveLength(users.length - optedOut.length);
    expect((await inject('GET', `/sends/${sendId}`)).json().counts).toEqual({
      email: { sent: users.length - optedOut.length, skipped: optedOut.length },
    });
  });
});
