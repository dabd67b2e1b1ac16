import { freePort } from '../../scripts/local-stack';
import type { SimulatorRecord } from '../../simulator/recorder';
import { eventually, startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver';
import { SEED_SES, SEED_TEMPLATES } from '../support/seed-004';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * The OS1 API end to end through providers registered with `POST /providers` (docs/api.md "Providers", "Channels and
 * providers"): SES and Pinpoint SMS reached through the AWS SDK's standard `AWS_ENDPOINT_URL` (the registered
 * credentials name no endpoint, as the seed's do), Infobip over OAuth at the `apiBaseUrl` of its credentials; the
 * seed's samples are adapted only where they carry placeholders (URLs, "YourAccessKeyId"-like values).
 */

const APP_KEY = testApiKey('os1-app-key');
const ADMIN_KEY = testApiKey('os1-admin-key');

/**
 * The sms sample's "tfn provider": a toll-free number and a 10-digit long code; a message's originationNumber picks
 * one of them, and a message without one goes from the toll-free number.
 */
const TFN_PROVIDER = {
  name: 'tfn provider',
  providerType: 'pinpoint',
  channel: 'sms',
  credentials: {
    accessKeyId: 'AKIATFNPROVIDER',
    secretAccessKey: 'tfn-secret-access-key',
    region: 'us-east-1',
    originators: [
      { number: '+18005551234', type: 'TFN' },
      { number: '+12025550123', type: 'A2P' },
    ],
    defaultOriginatorType: 'TFN',
  } as Record<string, unknown>,
  isActive: true,
  isTenantDefault: false,
};

const seedTemplates = [
  {
    name: 'order sent',
    mode: 'sms',
    data: { body: 'Your login OTP is {{otp}}', externalRef: '1107900000188600009', originationNumber: '+123456789' },
    isActive: true,
    tags: ['os1'],
  },
  {
    name: 'order processed',
    mode: 'email',
    data: {
      body: 'Dear Customer,\n\nYour order with the order ID {{orderId}} has been delivered successfully. The AWB number for your order is {{awbNumber}}. Thank you for choosing our service.\n\nSincerely,\nThe {{companyName}} Team',
      subject: 'Order Delivered {{orderId}}',
      format: 'text/plain',
      from: '',
    },
    isActive: true,
  },
  // The whatsapp sendMessage sample names these two; they take the shape of the seed's whatsapp template sample.
  {
    ...SEED_TEMPLATES.whatsapp,
    name: 'order delivery otp',
    data: {
      ...SEED_TEMPLATES.whatsapp.data,
      body: 'Dear {{name}}, the OTP for your order {{orderId}} is {{otp}}.',
      externalRef: 'order_delivery_otp',
    },
  },
  {
    name: 'order confirmation',
    mode: 'whatsapp',
    data: { body: 'Dear {{name}}, your order {{orderId}} is confirmed.', externalRef: 'order_confirmation' },
    isActive: true,
  },
];

interface AddressStatus {
  to: string;
  status: string;
  code: string | null;
  providerMessageId: string | null;
}
interface RequestStatus {
  status: string;
  notification: string | null;
  messages: { channel: string; provider: string | null; addresses: AddressStatus[] }[];
}

describe('OS1 messaging through registered providers (the OS1 API) on the real stack', () => {
  let stack: TestStack;
  let secret = '';
  const savedEndpoint = process.env.AWS_ENDPOINT_URL;

  const call = (key: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    stack.app.inject({ method, url, payload, headers: { authorization: `Bearer ${key}` } });
  const send = (url: string, payload: object) => call(APP_KEY, 'POST', url, payload);
  const requestStatus = async (requestId: string) =>
    (await call(APP_KEY, 'GET', `/messages/${requestId}`)).json() as RequestStatus;
  const recorded = async (query: string) =>
    (await stack.sim<{ messages: SimulatorRecord[] }>('GET', `/messages?${query}`)).messages;
  const callbacksOf = (receiver: CallbackReceiver) => receiver.received.map(({ body }) => body);

  beforeAll(async () => {
    const apiPort = await freePort();
    stack = await startTestStack({
      env: {
        PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
        HTTP_PORT: String(apiPort),
        API_KEYS: `${ADMIN_KEY}:send+read+admin,${APP_KEY}:send+read`,
      },
    });
    // The registered SES and Pinpoint credentials name no endpoint: the SDK of the in-process worker finds the
    // simulator the standard way, as `npm run dev`'s worker does.
    process.env.AWS_ENDPOINT_URL = stack.simulator.httpUrl;
    // Infobip's delivery reports come over the network, to PUBLIC_BASE_URL, as in production.
    await stack.app.listen({ host: '127.0.0.1', port: apiPort });
    await stack.sim('PUT', '/reports/config', { delayMs: 50, seenDelayMs: 50 });
    secret = (await call(APP_KEY, 'GET', '/callbacks/secret')).json().secret;

    const providers = [
      SEED_SES,
      TFN_PROVIDER,
      {
        name: 'infobip',
        providerType: 'infobip',
        credentials: { clientId: 'os1-client', clientSecret: 'os1-client-secret', apiBaseUrl: stack.simulator.httpUrl },
        isActive: true,
        isTenantDefault: true,
      },
      { ...TFN_PROVIDER, name: 'retired tfn provider', isActive: false },
      // A registration made before originators: its one originationNumber is its one originator.
      {
        ...TFN_PROVIDER,
        name: 'single number',
        credentials: {
          accessKeyId: 'AKIASINGLE',
          secretAccessKey: 's',
          region: 'us-east-1',
          originationNumber: '+18005550000',
        },
      },
      // Keys the provider does not know (the simulator's rule: an access key id starting with INVALID).
      {
        ...SEED_SES,
        name: 'revoked ses keys',
        isTenantDefault: false,
        credentials: { ...SEED_SES.credentials, accessKeyId: 'INVALIDSES' },
      },
      {
        ...TFN_PROVIDER,
        name: 'revoked pinpoint keys',
        credentials: { ...TFN_PROVIDER.credentials, accessKeyId: 'INVALIDSMS' },
      },
    ];
    for (const provider of providers) {
      const registered = await call(ADMIN_KEY, 'POST', '/providers', provider);
      expect([provider.name, registered.statusCode]).toEqual([provider.name, 201]);
    }
    for (const template of seedTemplates) {
      const created = await call(ADMIN_KEY, 'POST', '/templates', template);
      expect([template.name, created.statusCode]).toEqual([template.name, 201]);
    }
  });
  afterAll(async () => {
    if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = savedEndpoint;
    await stack?.close();
  });

  it("sends the seed's sms sample through the registered Pinpoint provider, with the template's registered id", async () => {
    const receiver = await startCallbackReceiver(() => secret);
    try {
      const accepted = await send('/messages', {
        sms: [
          {
            senderId: 'DLHVRY',
            template: 'order sent',
            provider: 'tfn provider',
            originationNumber: '+18005551234',
            data: { otp: '342365' },
            to: [{ countryCode: '1', number: '5551234567' }],
          },
        ],
        callback: { url: receiver.url, meta: {} },
      });
      expect(accepted.statusCode).toBe(202);
      const { requestId } = accepted.json();

      const statuses = () => callbacksOf(receiver).map((body) => body.status);
      await eventually(statuses, (seen) => seen.includes('sent'));
      expect(statuses()).toEqual(['queued', 'sent']);
      expect(receiver.received.every(({ verified }) => verified)).toBe(true);

      const [pinpoint, ...others] = await recorded('channel=sms&to=%2B15551234567');
      expect(others).toEqual([]);
      expect(pinpoint).toMatchObject({
        provider: 'pinpoint',
        from: '+18005551234',
        body: 'Your login OTP is 342365',
        data: { templateId: '1107900000188600009', messageType: 'TRANSACTIONAL' },
      });
      const status = await eventually(
        () => requestStatus(requestId),
        (body) => body.status === 'completed',
      );
      expect(status.messages).toEqual([
        expect.objectContaining({
          channel: 'sms',
          provider: 'tfn provider',
          addresses: [expect.objectContaining({ to: '+15551234567', status: 'sent', providerMessageId: pinpoint.id })],
        }),
      ]);
    } finally {
      await receiver.close();
    }
  });

  it("sends an sms from one of the Pinpoint originators: the one named, else the default type's", async () => {
    const sms = (recipient: string, originationNumber?: string, provider = 'tfn provider') => ({
      template: 'order sent',
      provider,
      ...(originationNumber ? { originationNumber } : {}),
      data: { otp: '1' },
      to: [{ countryCode: '1', number: recipient }],
    });
    const accepted = await send('/messages', {
      sms: [sms('5550000001', '+12025550123'), sms('5550000002'), sms('5550000003', '+18005550000', 'single number')],
    });
    expect(accepted.statusCode).toBe(202);
    const fromOf = async (to: string) =>
      (
        await eventually(
          () => recorded(`channel=sms&to=%2B1${to}`),
          (found) => found.length > 0,
        )
      )[0].from;
    expect(await fromOf('5550000001')).toBe('+12025550123');
    // The template's +123456789 and the service's sender are no originators of this account.
    expect(await fromOf('5550000002')).toBe('+18005551234');
    expect(await fromOf('5550000003')).toBe('+18005550000');
  });

  it.each([
    [
      'tfn provider',
      '+19995550000',
      /^sms\[0\]\.originationNumber: \+19995550000 is not an originator .*\+18005551234 \(TFN\), \+12025550123 \(A2P\)/,
    ],
    ['single number', '+18005551234', /^sms\[0\]\.originationNumber: .*\+18005550000 \(TFN\)/],
  ])(
    'refuses an originationNumber that is not an originator of %s, and starts nothing',
    async (provider, number, message) => {
      const before = await stack.database.messageRequests.countDocuments();
      const answer = await send('/messages', {
        sms: [
          {
            template: 'order sent',
            provider,
            originationNumber: number,
            data: { otp: '1' },
            to: [{ countryCode: '1', number: '5559876543' }],
          },
        ],
      });
      expect([answer.statusCode, answer.json().message]).toEqual([400, expect.stringMatching(message)]);
      expect(await stack.database.messageRequests.countDocuments()).toBe(before);
    },
  );

  it.each([
    [{ originationNumber: '+18005550000' }, 'credentials.originationNumber: give originators or originationNumber'],
    [
      { originators: [{ number: '+12025550123', type: 'A2P' }], defaultOriginatorType: 'TFN' },
      'credentials.defaultOriginatorType: no originator is of type TFN',
    ],
    [{ originators: [{ number: '2025550123', type: 'A2P' }] }, 'credentials.originators.0.number'],
    [{ originators: [{ number: '+12025550123', type: 'P2P' }] }, 'credentials.originators.0.type'],
  ])('refuses Pinpoint originators that cannot be used: %j', async (change, message) => {
    const answer = await call(ADMIN_KEY, 'POST', '/providers', {
      ...TFN_PROVIDER,
      name: 'refused pinpoint',
      credentials: { ...TFN_PROVIDER.credentials, ...change },
    });
    expect([answer.statusCode, answer.json().message]).toEqual([400, expect.stringContaining(message)]);
  });

  it('sends the seed\'s email sample (provider "") through the SES tenant default, found by AWS_ENDPOINT_URL', async () => {
    const receiver = await startCallbackReceiver(() => secret);
    try {
      const accepted = await send('/messages', {
        email: [
          {
            template: 'order processed',
            provider: '',
            to: ['employee@delhivery.com'],
            data: {
              orderId: 'orders-27e03289-9654-4e62-9457-32748e34efb9',
              companyName: 'Delhivery',
              awbNumber: 'AWB123456789087',
            },
          },
        ],
        callback: { url: receiver.url, meta: {} },
      });
      expect(accepted.statusCode).toBe(202);
      const { requestId } = accepted.json();
      await eventually(
        () => callbacksOf(receiver).map((body) => body.status),
        (seen) => seen.includes('sent'),
      );

      const [ses, ...others] = await recorded('channel=email&to=employee%40delhivery.com');
      expect(others).toEqual([]);
      expect(ses).toMatchObject({
        provider: 'ses',
        from: 'noreply@example.com',
        subject: 'Order Delivered orders-27e03289-9654-4e62-9457-32748e34efb9',
      });
      expect(ses.text).toContain('The AWB number for your order is AWB123456789087.');
      expect(ses.text).toContain('The Delhivery Team');
      const status = await requestStatus(requestId);
      expect(status.messages[0]).toMatchObject({
        provider: 'aws ses external',
        addresses: [{ to: 'employee@delhivery.com', status: 'sent', providerMessageId: ses.id }],
      });
      expect(callbacksOf(receiver).find((body) => body.status === 'sent')).toMatchObject({
        providerMessageId: ses.id,
      });
    } finally {
      await receiver.close();
    }
  });

  it("sends the seed's whatsapp sample over Infobip OAuth (media, url button), the second message by the tenant default, delivered then read", async () => {
    const tokensBefore = (await stack.sim<{ tokensIssued: number }>('GET', '/stats')).tokensIssued;
    const receiver = await startCallbackReceiver(() => secret);
    try {
      const accepted = await send('/messages', {
        whatsapp: [
          {
            from: '123324242',
            template: 'order delivery otp',
            provider: 'infobip',
            data: { otp: '342365', name: 'John Doe', orderId: 'xyz123' },
            media: {
              document: { url: 'https://example.com/document.pdf', filename: 'order details.pdf' },
              image: { url: 'https://example.com/image.jpg' },
            },
            buttons: [{ url: { trackUrl: 'https://example.com/track/{{orderId}}' } }],
            to: [
              { countryCode: '+91', number: '9812345600' },
              { countryCode: '+1', number: '5551234567' },
            ],
          },
          {
            from: '987654321',
            template: 'order confirmation',
            data: { name: 'Jane Smith', orderId: 'abc789' },
            to: [{ countryCode: '+44', number: '7712345678' }],
          },
        ],
        callback: { url: receiver.url, meta: {} },
      });
      expect(accepted.statusCode).toBe(202);
      const { requestId } = accepted.json();

      const addresses = ['+919812345600', '+15551234567', '+447712345678'];
      const expected = addresses.flatMap((to) => ['queued', 'sent', 'delivered', 'read'].map((s) => `${to}:${s}`));
      const seen = () => callbacksOf(receiver).map((body) => `${body.to}:${body.status}`);
      await eventually(seen, (events) => expected.every((event) => events.includes(event)));
      expect(seen().sort()).toEqual([...expected].sort());
      expect(receiver.received.every(({ verified }) => verified)).toBe(true);

      const status = await eventually(
        () => requestStatus(requestId),
        (body) => body.messages.every((message) => message.addresses.every((a) => a.status === 'read')),
      );
      expect(status.messages.map(({ provider, addresses }) => [provider, addresses.map((a) => a.status)])).toEqual([
        ['infobip', ['read', 'read']],
        ['infobip', ['read']],
      ]);

      // The registered provider authenticated with an OAuth token from its apiBaseUrl, not the configured App key.
      expect((await stack.sim<{ tokensIssued: number }>('GET', '/stats')).tokensIssued).toBeGreaterThan(tokensBefore);
      for (const to of ['+919812345600', '+15551234567']) {
        const messages = await recorded(`channel=whatsapp&to=${encodeURIComponent(to)}`);
        expect(messages.map((message) => message.provider)).toEqual(['infobip', 'infobip']);
        // The image, which the template's one header cannot carry, goes first, as its own message.
        const [image, template] = messages;
        expect(image).toMatchObject({
          from: '123324242',
          data: { type: 'image', mediaUrl: 'https://example.com/image.jpg' },
        });
        expect(template).toMatchObject({
          from: '123324242',
          title: 'order_delivery_otp',
          body: 'John Doe | xyz123 | 342365',
          data: {
            type: 'template',
            header: { type: 'DOCUMENT', mediaUrl: 'https://example.com/document.pdf', filename: 'order details.pdf' },
            buttons: [{ type: 'URL', parameter: 'https://example.com/track/xyz123' }],
          },
        });
        expect(status.messages[0].addresses.find((a) => a.to === to)?.providerMessageId).toBe(template.id);
      }
      const [confirmation, ...others] = await recorded('channel=whatsapp&to=%2B447712345678');
      expect(others).toEqual([]);
      expect(confirmation).toMatchObject({
        provider: 'infobip',
        from: '987654321',
        title: 'order_confirmation',
        body: 'Jane Smith | abc789',
      });
    } finally {
      await receiver.close();
    }
  });

  it.each([
    ['an inactive registered provider', 'sms', 'retired tfn provider', 409, 'sms[0].provider'],
    ['a provider of another channel (whatsapp for sms)', 'sms', 'infobip', 400, 'sms[0].provider'],
    ['a provider of another channel (sms for email)', 'email', 'tfn provider', 400, 'email[0].provider'],
  ])('refuses %s, naming the field, and starts nothing', async (_name, channel, provider, statusCode, field) => {
    const message =
      channel === 'sms'
        ? { template: 'order sent', provider, data: { otp: '1' }, to: [{ countryCode: '1', number: '5559876543' }] }
        : { template: 'order processed', provider, data: {}, to: ['refused@example.com'] };
    const before = await stack.database.messageRequests.countDocuments();
    const answer = await send('/messages', { [channel]: [message] });
    expect(answer.statusCode).toBe(statusCode);
    expect(answer.json()).toMatchObject({ statusCode });
    expect(answer.json().message).toContain(field);
    expect(answer.json().message).toContain(provider);
    expect(await stack.database.messageRequests.countDocuments()).toBe(before);
  });

  it("fails an address whose provider refuses the registered credentials, with the provider's code in the status and the callback", async () => {
    const receiver = await startCallbackReceiver(() => secret);
    try {
      const accepted = await send('/messages', {
        email: [{ template: 'order processed', provider: 'revoked ses keys', to: ['revoked@example.com'], data: {} }],
        sms: [
          {
            template: 'order sent',
            provider: 'revoked pinpoint keys',
            data: { otp: '1' },
            to: [{ countryCode: '1', number: '5550001111' }],
          },
        ],
        callback: { url: receiver.url, meta: { case: 'revoked' } },
      });
      expect(accepted.statusCode).toBe(202);
      const { requestId } = accepted.json();
      const failed = () => callbacksOf(receiver).filter((body) => body.status === 'failed');
      await eventually(failed, (events) => events.length === 2);
      expect(failed().map(({ channel, to, code }) => ({ channel, to, code }))).toEqual(
        expect.arrayContaining([
          { channel: 'email', to: 'revoked@example.com', code: 'SES_UnrecognizedClientException' },
          { channel: 'sms', to: '+15550001111', code: 'PINPOINT_UnrecognizedClientException' },
        ]),
      );
      expect(failed().every((body) => typeof body.error === 'string' && body.error.includes('security token'))).toBe(
        true,
      );
      expect(receiver.received.every(({ verified }) => verified)).toBe(true);

      const status = await requestStatus(requestId);
      const byChannel = Object.fromEntries(status.messages.map((m) => [m.channel, m.addresses[0]]));
      expect(byChannel).toMatchObject({
        email: { status: 'failed', code: 'SES_UnrecognizedClientException' },
        sms: { status: 'failed', code: 'PINPOINT_UnrecognizedClientException' },
      });
      expect(await recorded('to=revoked%40example.com')).toEqual([]);
      expect(await recorded('to=%2B15550001111')).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('sends by notification only while an admin has it enabled: pending → 409, enabled → sent, disabled → 409', async () => {
    const registered = await send('/notifications', {
      appId: 'os1-shipping',
      name: 'order updates',
      description: 'Tells customers their order moved',
      templates: { sms: 'order sent', email: 'order processed' },
    });
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toMatchObject({ status: 'pending' });
    const id = registered.json()._id as string;
    const notificationSend = {
      notification: 'order updates',
      email: [{ to: ['notified@example.com'], data: { orderId: 'N-1', companyName: 'Delhivery', awbNumber: 'AWB1' } }],
    };

    const whilePending = await send('/messages/notifications', notificationSend);
    expect(whilePending.statusCode).toBe(409);
    expect(whilePending.json().message).toMatch(/notification: "order updates" is pending an admin review/);
    // The application's own key cannot review its notification.
    expect((await call(APP_KEY, 'POST', `/notifications/${id}/enable`)).statusCode).toBe(403);

    const enabled = await call(ADMIN_KEY, 'POST', `/notifications/${id}/enable`);
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json()).toMatchObject({ status: 'enabled' });
    const accepted = await send('/messages/notifications', notificationSend);
    expect(accepted.statusCode).toBe(202);
    const { requestId } = accepted.json();
    const status = await eventually(
      () => requestStatus(requestId),
      (body) => body.status === 'completed',
    );
    expect(status).toMatchObject({
      notification: 'order updates',
      messages: [{ channel: 'email', provider: 'aws ses external', addresses: [{ status: 'sent' }] }],
    });
    expect(await recorded('channel=email&provider=ses&to=notified%40example.com')).toEqual([
      expect.objectContaining({ subject: 'Order Delivered N-1' }),
    ]);

    expect((await call(ADMIN_KEY, 'POST', `/notifications/${id}/disable`)).json()).toMatchObject({
      status: 'disabled',
    });
    const before = await stack.database.messageRequests.countDocuments();
    const whileDisabled = await send('/messages/notifications', notificationSend);
    expect(whileDisabled.statusCode).toBe(409);
    expect(whileDisabled.json().message).toMatch(/notification: "order updates" is disabled by an admin/);
    expect(await stack.database.messageRequests.countDocuments()).toBe(before);
  });
});
