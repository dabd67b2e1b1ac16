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
          `${testApiKey('shop')}:send+read@shop-app`,
          `${testApiKey('other-shop')}:send@other-app`,
          `${testApiKey('shop-ops')}:send+read+admin@shop-app`,
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
      // Nothing approved yet: an enable would approve each template's current version.
      approvedVersions: {},
      pendingChanges: {
        sms: { template: 'otp sms', approvedVersion: null, currentVersion: 1 },
        email: { template: 'otp email', approvedVersion: null, currentVersion: 1 },
        whatsapp: { template: 'otp whatsapp', approvedVersion: null, currentVersion: 1 },
      },
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
    expect([enabled.json().approvedVersions, enabled.json().pendingChanges]).toEqual([
      { sms: 1, email: 1, whatsapp: 1 },
      {},
    ]);
    expect(await statusByName()).toBe('enabled');
    // An action takes no body: an empty one is accepted whatever the content type a client always sends.
    for (const contentType of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
      const empty = await stack.app.inject({
        method: 'POST',
        url: `${url}/enable`,
        headers: { authorization: `Bearer ${testApiKey('admin-key')}`, 'content-type': contentType },
        payload: '',
      });
      expect([contentType, empty.statusCode, empty.json().status]).toEqual([contentType, 200, 'enabled']);
    }
    // A route that takes a body still wants one.
    const noBody = await stack.app.inject({
      method: 'POST',
      url: '/notifications',
      headers: { authorization: `Bearer ${testApiKey('sender')}`, 'content-type': 'application/json' },
      payload: '',
    });
    expect(noBody.statusCode).toBe(400);
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

  describe("an application's keys", () => {
    const shop = as('shop');
    const otherShop = as('other-shop');
    const shopOps = as('shop-ops');
    const sms = { sms: [{ template: 'otp sms', to: [{ countryCode: '1', number: '4155550101' }], data: {} }] };
    const conversation = (fields: object) => ({
      from: '123324242',
      message: { data: { otp: '342365' } },
      provider: 'shop infobip',
      to: { countryCode: '91', number: '9812345600' },
      dynamicResponseRegex: '^\\d{6}$',
      responseTimeout: 300,
      ...fields,
    });
    const storedRequests = () => stack.database.messageRequests.countDocuments();
    const storedConversations = () => stack.database.conversations.countDocuments();
    const refusal = (response: { statusCode: number; json(): { message?: string } }) => [
      response.statusCode,
      response.json().message,
    ];

    beforeAll(async () => {
      const provider = await as('everything')('POST', '/providers', {
        name: 'shop infobip',
        providerType: 'infobip',
        credentials: { clientId: 'id', clientSecret: 'secret', apiBaseUrl: stack.simulator.httpUrl },
        isActive: true,
      });
      expect(provider.statusCode).toBe(201);
    });

    it("register their application's notifications only (403 otherwise, nothing stored)", async () => {
      const before = await stack.database.notifications.countDocuments();
      const foreign = { name: 'foreign', templates: { sms: 'otp sms' } };
      expect(refusal(await otherShop('POST', '/notifications', { ...foreign, appId: 'shop-app' }))).toEqual([
        403,
        'appId: this API key belongs to application "other-app", not "shop-app"',
      ]);
      expect((await shop('POST', '/notifications', { ...foreign, appId: 'other-app' })).statusCode).toBe(403);
      expect(await stack.database.notifications.countDocuments()).toBe(before);
    });

    it('send directly as their own application: the request is stored under it, another appId is a 403', async () => {
      const before = await storedRequests();
      expect(refusal(await otherShop('POST', '/messages', { ...sms, appId: 'shop-app' }))).toEqual([
        403,
        'appId: this API key belongs to application "other-app", not "shop-app"',
      ]);
      expect(await storedRequests()).toBe(before);
      const accepted = await otherShop('POST', '/messages', sms);
      expect(accepted.statusCode).toBe(202);
      const stored = await stack.database.messageRequests.findOne({ _id: accepted.json().requestId });
      expect(stored?.appId).toBe('other-app');
    });

    it('send directly until their application registers a notification, then by notification only (409)', async () => {
      expect((await shop('POST', '/messages', sms)).statusCode).toBe(202);
      const created = await shop('POST', '/notifications', {
        appId: 'shop-app',
        name: 'shop otp',
        templates: { sms: 'otp sms', whatsapp: 'otp whatsapp' },
      });
      expect(created.statusCode).toBe(201);

      // Pending already gates: the review cannot be bypassed by sending the template directly.
      const before = await storedRequests();
      expect(refusal(await shop('POST', '/messages', sms))).toEqual([
        409,
        'authorization: application "shop-app" has registered notifications, so its API keys send with POST /messages/notifications',
      ]);
      expect(await storedRequests()).toBe(before);
      const byNotification = { notification: 'shop otp', sms: [{ to: sms.sms[0].to, data: {} }] };
      expect(refusal(await shop('POST', '/messages/notifications', byNotification))).toEqual([
        409,
        'notification: "shop otp" is pending an admin review',
      ]);
      // Keys of no application, of another application and with the admin scope send as before.
      for (const call of [sender, otherShop, shopOps])
        expect((await call('POST', '/messages', sms)).statusCode).toBe(202);
      expect(await storedRequests()).toBe(before + 3);

      expect((await admin('POST', `/notifications/${created.json()._id}/enable`)).statusCode).toBe(200);
      expect((await shop('POST', '/messages/notifications', byNotification)).statusCode).toBe(202);
      expect((await shop('POST', '/messages', sms)).statusCode).toBe(409);
      expect(refusal(await otherShop('POST', '/messages/notifications', byNotification))).toEqual([
        403,
        'notification: this API key belongs to application "other-app", not "shop-app"',
      ]);
      // Disabled still gates.
      expect((await admin('POST', `/notifications/${created.json()._id}/disable`)).statusCode).toBe(200);
      expect((await shop('POST', '/messages', sms)).statusCode).toBe(409);
      expect((await admin('POST', `/notifications/${created.json()._id}/enable`)).statusCode).toBe(200);
      expect(await storedRequests()).toBe(before + 4);
    });

    it('start conversations by an enabled notification, and by it only once their application has one', async () => {
      const before = await storedConversations();
      const refused: [ReturnType<typeof as>, object, number, string][] = [
        [
          shop,
          conversation({ message: { template: 'otp whatsapp' } }),
          409,
          'message.template: application "shop-app" has registered notifications, so its API keys send with "notification" (its name)',
        ],
        [
          shop,
          conversation({ notification: 'no such notification' }),
          404,
          'notification: no notification is named "no such notification"',
        ],
        [
          shop,
          conversation({ notification: 'shop otp', message: { template: 'otp whatsapp' } }),
          400,
          'notification: name a notification or a message.template, not both',
        ],
        [shop, conversation({}), 400, 'message.template: name a whatsapp template, or a notification (`notification`)'],
        [
          otherShop,
          conversation({ notification: 'shop otp' }),
          403,
          'notification: this API key belongs to application "other-app", not "shop-app"',
        ],
      ];
      for (const [call, body, status, message] of refused) {
        expect([body, ...refusal(await call('POST', '/conversations', body))]).toEqual([body, status, message]);
      }
      const smsOnly = await shop('POST', '/notifications', {
        appId: 'shop-app',
        name: 'shop sms',
        templates: { sms: 'otp sms' },
      });
      expect(refusal(await shop('POST', '/conversations', conversation({ notification: 'shop sms' })))).toEqual([
        409,
        'notification: "shop sms" is pending an admin review',
      ]);
      await admin('POST', `/notifications/${smsOnly.json()._id}/enable`);
      expect(refusal(await shop('POST', '/conversations', conversation({ notification: 'shop sms' })))).toEqual([
        409,
        'notification: "shop sms" has no whatsapp template',
      ]);
      expect(await storedConversations()).toBe(before);

      const started = await shop('POST', '/conversations', conversation({ notification: 'shop otp' }));
      expect(refusal(started)).toEqual([202, undefined]);
      const read = await shop('GET', `/conversations/${started.json().conversationId}`);
      expect(read.json().template).toBe('otp whatsapp');
      // A key of no application still names a template.
      const direct = await sender(
        'POST',
        '/conversations',
        conversation({ message: { template: 'otp whatsapp' }, to: { countryCode: '91', number: '9812345601' } }),
      );
      expect(direct.statusCode).toBe(202);
    });
  });
});
