import { NotificationsRepository, notificationId } from '../../common/store/notifications-repository';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

/** Notifications under an admin's review (the OS1 createNotifications), with API keys of each scope. */
describe('/notifications: registered pending, reviewed by an admin', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      env: {
        API_KEYS: [
          `${testApiKey('admin-key')}:admin`,
          `${testApiKey('sender')}:send`,
          `${testApiKey('reader')}:read`,
          `${testApiKey('everything')}:send+read+admin`,
        ].join(','),
      },
    });
    for (const template of [
      { name: 'otp sms', mode: 'sms', data: { body: 'your otp is {{otp}}' } },
      { name: 'otp email', mode: 'email', data: { body: 'otp {{otp}}', subject: 'otp' } },
      { name: 'otp whatsapp', mode: 'whatsapp', data: { body: 'otp {{otp}}' } },
    ]) {
      expect((await as('everything')('POST', '/templates', template)).statusCode).toBe(201);
    }
  });
  afterAll(() => stack?.close());

  const as = (key: string) => (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    stack.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${testApiKey(key)}` },
      ...(payload ? { payload } : {}),
    });
  const sender = as('sender');
  const admin = as('admin-key');
  const reader = as('reader');

  it('goes pending → enabled → disabled → enabled by an admin, and is deleted by one', async () => {
    const created = await sender('POST', '/notifications', {
      appId: 'orders-app',
      name: 'order otp',
      description: 'the otp of an order',
      templates: { sms: 'otp sms', email: 'otp email', whatsapp: 'otp whatsapp' },
    });
    expect(created.statusCode).toBe(201);
    const notification = created.json();
    expect(notification).toEqual({
      _id: notificationId('order otp').toHexString(),
      appId: 'orders-app',
      name: 'order otp',
      description: 'the otp of an order',
      templates: { sms: 'otp sms', email: 'otp email', whatsapp: 'otp whatsapp' },
      status: 'pending',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const url = `/notifications/${notification._id}`;
    const repository = new NotificationsRepository(stack.database);
    const statusByName = async () => (await repository.findByName('order otp'))?.status;

    expect((await reader('GET', url)).json().status).toBe('pending');
    expect(await statusByName()).toBe('pending');
    const enabled = await admin('POST', `${url}/enable`);
    expect([enabled.statusCode, enabled.json().status, enabled.json().reviewedAt]).toEqual([
      200,
      'enabled',
      expect.any(String),
    ]);
    expect(await statusByName()).toBe('enabled');
    // Enabling what is enabled changes nothing.
    expect((await admin('POST', `${url}/enable`)).json()).toEqual(enabled.json());
    expect((await admin('POST', `${url}/disable`)).json().status).toBe('disabled');
    expect(await statusByName()).toBe('disabled');
    expect((await admin('POST', `${url}/enable`)).json().status).toBe('enabled');
    expect((await admin('POST', `${url}/disable`)).json().status).toBe('disabled');
    const listed = (await reader('GET', '/notifications?status=disabled&appId=orders-app')).json();
    expect(listed.map((each: { name: string }) => each.name)).toEqual(['order otp']);
    expect((await reader('GET', '/notifications?status=enabled&appId=orders-app')).json()).toEqual([]);

    expect((await admin('DELETE', url)).statusCode).toBe(204);
    expect((await reader('GET', url)).statusCode).toBe(404);
    expect(await repository.findByName('order otp')).toBeNull();
    expect((await admin('POST', `${url}/enable`)).statusCode).toBe(404);
  });

  it('keeps review to admin keys, registration to send keys and reading to read keys (403 naming the scope)', async () => {
    const id = (
      await sender('POST', '/notifications', { appId: 'a', name: 'scoped', templates: { sms: 'otp sms' } })
    ).json()._id;
    const denied: [ReturnType<typeof as>, 'GET' | 'POST' | 'DELETE', string, object | undefined, string][] = [
      [sender, 'POST', `/notifications/${id}/enable`, undefined, 'admin'],
      [sender, 'POST', `/notifications/${id}/disable`, undefined, 'admin'],
      [sender, 'DELETE', `/notifications/${id}`, undefined, 'admin'],
      [reader, 'POST', `/notifications/${id}/enable`, undefined, 'admin'],
      [admin, 'POST', '/notifications', { appId: 'a', name: 'x', templates: { sms: 'otp sms' } }, 'send'],
      [reader, 'POST', '/notifications', { appId: 'a', name: 'x', templates: { sms: 'otp sms' } }, 'send'],
      [sender, 'GET', `/notifications/${id}`, undefined, 'read'],
      [sender, 'GET', '/notifications', undefined, 'read'],
    ];
    for (const [call, method, url, payload, scope] of denied) {
      const response = await call(method, url, payload);
      expect([method, url, response.statusCode, response.json().message]).toEqual([
        method,
        url,
        403,
        expect.stringContaining(`"${scope}" scope`),
      ]);
    }
    expect((await reader('GET', `/notifications/${id}`)).json().status).toBe('pending');
  });

  it('refuses unknown templates, a template of another mode, none at all and a repeated name, storing nothing', async () => {
    const before = await stack.database.notifications.countDocuments();
    const refused: [object, number, RegExp][] = [
      [{ appId: 'a', name: 'n1', templates: { sms: 'no such template' } }, 400, /^templates\.sms: no mode template/],
      [
        { appId: 'a', name: 'n1', templates: { sms: 'otp sms', email: 'otp sms' } },
        400,
        /^templates\.email: template "otp sms" has mode sms, not email/,
      ],
      [{ appId: 'a', name: 'n1', templates: {} }, 400, /^templates: names no template/],
      [{ appId: 'a', name: 'n1', templates: { push: 'otp sms' } }, 400, /^templates: .*push/],
      [{ name: 'n1', templates: { sms: 'otp sms' } }, 400, /^appId: /],
      [{ appId: 'a', name: '', templates: { sms: 'otp sms' } }, 400, /^name: /],
    ];
    for (const [payload, status, message] of refused) {
      const response = await sender('POST', '/notifications', payload);
      expect([payload, response.statusCode, response.json().message]).toEqual([
        payload,
        status,
        expect.stringMatching(message),
      ]);
    }
    expect(await stack.database.notifications.countDocuments()).toBe(before);
    const body = { appId: 'a', name: 'twice', templates: { whatsapp: 'otp whatsapp' } };
    expect((await sender('POST', '/notifications', body)).statusCode).toBe(201);
    const again = await sender('POST', '/notifications', { ...body, appId: 'b' });
    expect([again.statusCode, again.json().message]).toEqual([409, 'name: a notification named "twice" exists']);
    // A Mia template of that name is no mode template.
    await as('everything')('POST', '/templates', { name: 'mia sms', smsMessage: 'Hi' });
    const mia = await sender('POST', '/notifications', { appId: 'a', name: 'n2', templates: { sms: 'mia sms' } });
    expect([mia.statusCode, mia.json().message]).toEqual([400, expect.stringMatching(/^templates\.sms: /)]);
  });
});
