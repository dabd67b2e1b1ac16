import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../scripts/local-stack';
import { eventually, startCallbackReceiver as startReceiver } from '../support/callback-receiver';
import { simMessages } from '../support/fixtures';
import { sleep } from '../support/http-sends';
import { startTestStack, type TestStack } from '../support/test-stack';

describe('OS1 messaging: POST /messages on the real stack', () => {
  let stack: TestStack;
  let apiPort: number;
  let secret = '';

  beforeAll(async () => {
    apiPort = await freePort();
    stack = await startTestStack({
      env: { PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`, HTTP_PORT: String(apiPort) },
    });
    // The providers' delivery reports come over the network, as in production.
    await stack.app.listen({ host: '127.0.0.1', port: apiPort });
    await stack.sim('PUT', '/reports/config', { delayMs: 50, seenDelayMs: 50 });
    secret = (await stack.app.inject({ method: 'GET', url: '/callbacks/secret' })).json().secret;
    const templates = [
      {
        name: 'order sent',
        mode: 'sms',
        data: { body: 'Your login OTP is {{otp}}', externalRef: '1107900000188600009' },
        isActive: true,
        tags: ['os1'],
      },
      {
        name: 'order processed',
        mode: 'email',
        data: {
          body: 'Dear customer, order {{orderId}} is delivered.',
          subject: 'Order delivered {{orderId}}',
          format: 'text/plain',
          from: '',
        },
        isActive: true,
      },
      {
        name: 'order delivered',
        mode: 'whatsapp',
        data: {
          body: 'Dear {{name}}, your order {{orderId}} has been delivered',
          externalRef: 'order_delivered_v1',
          media: { document: { url: 'https://example.com/document.pdf', filename: 'receipt.pdf' } },
          buttons: [{ 'quick reply': { value: 'confirm delivery' } }],
        },
        isActive: true,
      },
      { name: 'retired', mode: 'sms', data: { body: 'old' }, isActive: false },
    ];
    for (const template of templates) {
      const created = await stack.app.inject({ method: 'POST', url: '/templates', payload: template });
      expect(created.statusCode).toBe(201);
    }
  });
  afterAll(() => stack.close());

  const post = (url: string, payload: object) => stack.app.inject({ method: 'POST', url, payload });

  it('sends sms, email and whatsapp to raw addresses, with signed callbacks from queued to delivered and read', async () => {
    const receiver = await startReceiver(() => secret);
    try {
      const accepted = await post('/messages', {
        sms: [
          {
            senderId: 'DLHVRY',
            template: 'order sent',
            data: { otp: '342365' },
            to: [{ countryCode: '1', number: '5551234567' }],
          },
        ],
        email: [
          {
            template: 'order processed',
            provider: '',
            to: ['employee@example.com'],
            cc: ['boss@example.com'],
            data: { orderId: 'ORD-27' },
          },
        ],
        whatsapp: [
          {
            from: '123324242',
            template: 'order delivered',
            data: { name: 'John Doe', orderId: 'xyz123' },
            to: [{ countryCode: '+91', number: '9812345600' }],
          },
        ],
        callback: { url: receiver.url, meta: { tenant: 'acme' } },
      });
      expect(accepted.statusCode).toBe(202);
      const { requestId, messages } = accepted.json();
      expect(messages.map((m: { to: string[] }) => m.to)).toEqual([
        ['+15551234567'],
        ['employee@example.com'],
        ['+919812345600'],
      ]);

      // sms (Twilio) and whatsapp (Infobip) report delivery; whatsapp reports the read too; email (SMTP) does not.
      const expected = [
        'sms:queued',
        'sms:sent',
        'sms:delivered',
        'email:queued',
        'email:sent',
        'whatsapp:queued',
        'whatsapp:sent',
        'whatsapp:delivered',
        'whatsapp:read',
      ];
      const seen = () => receiver.received.map(({ body }) => `${body.channel}:${body.status}`);
      await eventually(seen, (statuses) => expected.every((status) => statuses.includes(status)));
      expect(seen().sort()).toEqual([...expected].sort());
      expect(receiver.received.every(({ verified }) => verified)).toBe(true);
      expect(receiver.received[0].body).toMatchObject({ requestId, meta: { tenant: 'acme' } });
      // An address's events arrive in the order they happened.
      const whatsappOrder = seen().filter((status) => status.startsWith('whatsapp'));
      expect(whatsappOrder).toEqual(['whatsapp:queued', 'whatsapp:sent', 'whatsapp:delivered', 'whatsapp:read']);

      const status = await eventually(
        async () => (await stack.app.inject({ method: 'GET', url: `/messages/${requestId}` })).json(),
        (body) => body.status === 'completed',
      );
      expect(status.messages.map((m: { addresses: { status: string }[] }) => m.addresses[0].status)).toEqual([
        'delivered',
        'sent',
        'read',
      ]);

      const whatsapp = (
        await stack.sim<{ messages: { raw: Record<string, unknown> }[] }>(
          'GET',
          '/messages?channel=whatsapp&to=%2B919812345600',
        )
      ).messages[0];
      expect(JSON.stringify(whatsapp.raw)).toContain('order_delivered_v1');
      expect(JSON.stringify(whatsapp.raw)).toContain('John Doe');
      const email = (
        await stack.sim<{ messages: { subject: string; cc: string[] }[] }>(
          'GET',
          '/messages?channel=email&to=employee%40example.com',
        )
      ).messages[0];
      expect(email).toMatchObject({ subject: 'Order delivered ORD-27', cc: ['boss@example.com'] });
    } finally {
      await receiver.close();
    }
  });

  it('retries a callback the receiver refuses, and never posts one change twice', async () => {
    const receiver = await startReceiver(() => secret, 2);
    try {
      const accepted = await post('/messages', {
        email: [{ template: 'order processed', to: ['retry@example.com'], data: { orderId: 'R-1' } }],
        callback: { url: receiver.url },
      });
      expect(accepted.statusCode).toBe(202);
      await eventually(
        () => receiver.received.map(({ body }) => body.status),
        (statuses) => statuses.includes('queued') && statuses.includes('sent'),
      );
      await sleep(500);
      expect(receiver.calls()).toBeGreaterThanOrEqual(4);
      expect(receiver.received.map(({ body }) => body.eventId).sort()).toEqual(
        [...new Set(receiver.received.map(({ body }) => body.eventId))].sort(),
      );
    } finally {
      await receiver.close();
    }
  });

  it('takes a repeated Idempotency-Key once: the same request, one workflow, each address sent once', async () => {
    const body = {
      sms: [{ template: 'order sent', to: [{ countryCode: '1', number: '4155550177' }], data: { otp: '771199' } }],
    };
    const headers = { 'idempotency-key': 'os1-idem-1' };
    const send = (payload: object) => stack.app.inject({ method: 'POST', url: '/messages', payload, headers });
    const [first, again] = await Promise.all([send(body), send(body)]);
    expect([first.statusCode, again.statusCode]).toEqual([202, 202]);
    expect(again.json()).toEqual(first.json());
    const { requestId } = first.json();
    expect(requestId).toMatch(/^msg-idem-/);
    expect((await send(body)).json()).toEqual(first.json());

    const status = await eventually(
      async () => (await stack.app.inject({ method: 'GET', url: `/messages/${requestId}` })).json(),
      (answer) => answer.status === 'completed',
    );
    expect(status.status).toBe('completed');
    const sms = (await simMessages(stack, 'channel=sms')).filter((message) => message.body?.includes('771199'));
    expect(sms).toHaveLength(1);

    // The key with another body starts nothing and names the header.
    const other = await send({
      sms: [{ template: 'order sent', to: [{ countryCode: '1', number: '4155550177' }], data: { otp: '000000' } }],
    });
    expect(other.statusCode).toBe(422);
    expect(other.json().message).toMatch(/^Idempotency-Key: os1-idem-1 was used for a different request/);
    // Without a key every request is a new one.
    const [plain, plainAgain] = await Promise.all([post('/messages', body), post('/messages', body)]);
    expect(plain.json().requestId).not.toBe(plainAgain.json().requestId);
  });

  it('sends 1,000 message objects in one request, one workflow, every address once', async () => {
    const email = Array.from({ length: 1000 }, (_, index) => ({
      template: 'order processed',
      to: [`bulk${index}@example.com`],
      data: { orderId: `B-${index}` },
    }));
    const accepted = await post('/messages', { email });
    expect(accepted.statusCode).toBe(202);
    const { requestId } = accepted.json();
    const status = await eventually(
      async () => (await stack.app.inject({ method: 'GET', url: `/messages/${requestId}` })).json(),
      (body) => body.status !== 'running',
      120_000,
    );
    expect(status.status).toBe('completed');
    const recorded = await stack.sim<{ messages: { to: string }[] }>('GET', '/messages?channel=email&limit=100000');
    const bulk = recorded.messages.filter((message) => message.to.startsWith('bulk'));
    expect(new Set(bulk.map((message) => message.to)).size).toBe(1000);
    expect(bulk).toHaveLength(1000);
    const history = await stack.temporal.workflow.getHandle(requestId).fetchHistory();
    expect(history.events!.length).toBeLessThan(1000);
  }, 180_000);

  it.each([
    [
      'over 50 addresses',
      {
        email: [
          {
            template: 'order processed',
            to: Array.from({ length: 40 }, (_, i) => `a${i}@example.com`),
            cc: Array.from({ length: 11 }, (_, i) => `c${i}@example.com`),
          },
        ],
      },
      400,
      'email[0].to: at most 50',
    ],
    ['a bad email', { email: [{ template: 'order processed', to: ['not-an-email'] }] }, 400, 'email.0.to.0'],
    [
      'a bad phone',
      { sms: [{ template: 'order sent', to: [{ countryCode: '1', number: '555' }] }] },
      400,
      'sms[0].to[0]',
    ],
    [
      'an unknown template',
      { sms: [{ template: 'nope', to: [{ countryCode: '1', number: '5551234567' }] }] },
      404,
      'sms[0].template',
    ],
    [
      'an inactive template',
      { sms: [{ template: 'retired', to: [{ countryCode: '1', number: '5551234567' }] }] },
      409,
      'sms[0].template',
    ],
    [
      'a template of another mode',
      { sms: [{ template: 'order processed', to: [{ countryCode: '1', number: '5551234567' }] }] },
      400,
      'sms[0].template',
    ],
    [
      'an unknown provider',
      { sms: [{ template: 'order sent', provider: 'ghost', to: [{ countryCode: '1', number: '5551234567' }] }] },
      404,
      'sms[0].provider',
    ],
    [
      'a callback URL not http(s)',
      {
        sms: [{ template: 'order sent', to: [{ countryCode: '1', number: '5551234567' }] }],
        callback: { url: 'ftp://example.com/x' },
      },
      400,
      'callback.url',
    ],
    ['no message at all', {}, 400, 'at least one message'],
    [
      'a whatsapp image of another type',
      {
        whatsapp: [
          {
            template: 'order delivered',
            media: { image: { url: 'https://example.com/map.gif' } },
            to: [{ countryCode: '91', number: '9812345600' }],
          },
        ],
      },
      400,
      'whatsapp[0].media.image.url: an image must be jpg, jpeg, png',
    ],
    [
      'a whatsapp document of another type',
      {
        whatsapp: [
          {
            template: 'order delivered',
            media: { document: { url: 'https://example.com/sheet.xlsx' } },
            to: [{ countryCode: '91', number: '9812345600' }],
          },
        ],
      },
      400,
      'whatsapp[0].media.document.url: a document must be pdf, doc, docx',
    ],
  ])('refuses %s, naming the field, and starts nothing', async (_name, payload, statusCode, field) => {
    const before = await stack.database.messageRequests.countDocuments();
    const answer = await post('/messages', payload);
    expect(answer.statusCode).toBe(statusCode);
    expect(answer.json()).toMatchObject({ statusCode });
    expect(answer.json().message).toContain(field);
    expect(await stack.database.messageRequests.countDocuments()).toBe(before);
  });

  describe('WhatsApp media, checked as on /conversations', () => {
    let mediaServer: Server;
    let mediaUrl = '';
    beforeAll(async () => {
      // Serves a 6 MB PNG as far as a HEAD can tell.
      mediaServer = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'image/png', 'content-length': String(6 * 1024 * 1024) }).end();
      });
      await new Promise<void>((resolve) => mediaServer.listen(0, '127.0.0.1', resolve));
      mediaUrl = `http://127.0.0.1:${(mediaServer.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => mediaServer.close(() => resolve())));

    it('refuses an image over 5 MB on POST /messages, and stores nothing', async () => {
      const before = await stack.database.messageRequests.countDocuments();
      const answer = await post('/messages', {
        whatsapp: [
          {
            template: 'order delivered',
            media: { image: { url: `${mediaUrl}/big.png` } },
            to: [{ countryCode: '91', number: '9812345600' }],
          },
        ],
      });
      expect([answer.statusCode, answer.json().message]).toEqual([
        400,
        expect.stringMatching(/^whatsapp\[0\]\.media\.image\.url: .*5 MB at most/),
      ]);
      expect(await stack.database.messageRequests.countDocuments()).toBe(before);
    });

    it('refuses a whatsapp template whose media breaks the rules, created or changed', async () => {
      const template = (media: object) => ({
        name: 'media rules',
        mode: 'whatsapp',
        data: { body: 'Your receipt', media },
        isActive: true,
      });
      const tooBig = await post('/templates', template({ image: { url: `${mediaUrl}/big.png` } }));
      expect([tooBig.statusCode, tooBig.json().message]).toEqual([
        400,
        expect.stringMatching(/^data\.media\.image\.url: .*5 MB at most/),
      ]);
      const wrongType = await post('/templates', template({ document: { url: 'https://example.com/sheet.xlsx' } }));
      expect([wrongType.statusCode, wrongType.json().message]).toEqual([
        400,
        expect.stringMatching(/^data\.media\.document\.url: a document must be pdf, doc, docx/),
      ]);
      const created = await post('/templates', template({ document: { url: 'https://example.com/receipt.pdf' } }));
      expect(created.statusCode).toBe(201);
      const changed = await stack.app.inject({
        method: 'PATCH',
        url: `/templates/${created.json()._id}`,
        payload: { data: { body: 'Your receipt', media: { image: { url: 'https://example.com/map.gif' } } } },
      });
      expect([changed.statusCode, changed.json().message]).toEqual([
        400,
        expect.stringMatching(/^data\.media\.image\.url: an image must be jpg, jpeg, png/),
      ]);
      const stored = await stack.app.inject({ method: 'GET', url: `/templates/${created.json()._id}` });
      expect(stored.json().data.media).toEqual({ document: { url: 'https://example.com/receipt.pdf' } });
    });
  });

  it('refuses more than 1,000 message objects', async () => {
    const sms = Array.from({ length: 1001 }, () => ({
      template: 'order sent',
      to: [{ countryCode: '1', number: '5551234567' }],
    }));
    const answer = await post('/messages', { sms });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().message).toContain('at most 1000 message objects');
  });

  it('lets /send name a registered provider per channel, and refuses one that is not registered', async () => {
    // `endpoint` is configuration only: the in-process worker's AWS SDK finds the simulator the standard way.
    process.env.AWS_ENDPOINT_URL = stack.simulator.httpUrl;
    const registered = await post('/providers', {
      name: 'sms via pinpoint',
      providerType: 'pinpoint',
      credentials: {
        accessKeyId: 'AKIASIMULATOR',
        secretAccessKey: 'secret',
        region: 'us-east-1',
      },
      isActive: true,
      isTenantDefault: false,
    });
    expect(registered.statusCode).toBe(201);
    const user = await post('/users', { name: 'Ada', phoneNumber: '+15550001111' });
    const recipients = [user.json()._id];
    const refused = await post('/send', {
      channels: ['sms'],
      recipients,
      messageTitle: 't',
      messageContent: 'c',
      providers: { sms: 'nobody' },
    });
    expect(refused.statusCode).toBe(404);
    expect(refused.json().message).toContain('providers.sms');
    const sent = await post('/send', {
      channels: ['sms'],
      recipients,
      messageTitle: 'Hello',
      messageContent: 'Hello through a registered provider',
      providers: { sms: 'sms via pinpoint' },
    });
    expect(sent.statusCode).toBe(200);
    expect(sent.json().failures).toEqual([]);
    const recorded = await stack.sim<{ messages: { provider: string; body: string }[] }>(
      'GET',
      '/messages?channel=sms&to=%2B15550001111',
    );
    expect(recorded.messages.map(({ provider, body }) => ({ provider, body }))).toEqual([
      { provider: 'pinpoint', body: 'Hello through a registered provider' },
    ]);
  });

  it('refuses a delivery report whose URL token is wrong', async () => {
    const answer = await stack.app.inject({
      method: 'POST',
      url: '/webhooks/infobip/reports?token=forged',
      payload: { results: [{ messageId: 'x', status: { groupName: 'DELIVERED' } }] },
    });
    expect(answer.statusCode).toBe(401);
  });
});
