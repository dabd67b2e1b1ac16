import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conversationLockKey, customerHash } from '../../common/domain/conversation-model';
import { SEARCH_ATTRIBUTES } from '../../common/temporal/search-attributes';
import { freePort } from '../../scripts/local-stack';
import type { InboundCall } from '../../simulator/inbound';
import type { SimulatorRecord } from '../../simulator/recorder';
import { eventually, startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * Two-way WhatsApp on the real stack (docs/whatsapp.md, the OS1 send2WayMessage): the `conversation`
 * workflow sends the template through the registered Infobip provider (the simulator), waits for the customer's
 * answer and posts it, signed, to the webhook its classification names. Every receiver verifies every signature with
 * its own webhook's secret. The customer answers through the simulator (`POST /whatsapp/reply`), which posts
 * Infobip's inbound format to the provider's inbound webhook URL over the network, as Infobip does; the simulator's
 * delivery reports come back the same way.
 */

const SECRETS = {
  accepted: 'dXNlcm5hbWU6cGFzc3dvcmQ=',
  defaultInbound: 'c2VjcmV0LWtleQ==',
  status: 'c3RhdHVzLXNlY3JldA==',
  invalidResponse: 'aW52YWxpZC1zZWNyZXQ=',
} as const;
type Role = keyof typeof SECRETS;

interface Transcript {
  status: string;
  closedAt: string | null;
  transcript: { kind: string; [field: string]: unknown }[];
  webhooks: { target: string; url: string }[];
}

/** A customer's number as the seed writes it, different in each test so that their conversations do not meet. */
let nextNumber = 9812345600;
const customer = () => ({ countryCode: '91', number: String(nextNumber++) });

describe('two-way WhatsApp conversations on the real stack', () => {
  let stack: TestStack;
  const receivers = {} as Record<Role, CallbackReceiver>;

  /** The OS1 send2WayMessage sample, its webhooks at this test's receivers. */
  const seedBody = (overrides: Record<string, unknown> = {}) => ({
    from: '123324242',
    message: {
      template: 'order delivery otp',
      data: { otp: '342365' },
      media: {
        document: { url: 'https://example.com/docs/file.pdf', filename: 'delivery instructions.pdf' },
        image: { url: 'https://example.com/images/map.jpg' },
        location: { latitude: 37.7749, longitude: 122.4194 },
      },
      buttons: ['track order', 'contact support'],
    },
    provider: 'infobip',
    to: customer(),
    acceptedResponses: [
      { messages: ['1', 'order received'], webhook: { url: receivers.accepted.url, secret: SECRETS.accepted } },
    ],
    dynamicResponseRegex: '^\\d{6}$',
    webhook: {
      defaultInbound: { url: receivers.defaultInbound.url, secret: SECRETS.defaultInbound },
      status: { url: receivers.status.url, secret: SECRETS.status },
      invalidResponse: { url: receivers.invalidResponse.url, secret: SECRETS.invalidResponse },
    },
    responseTimeout: 300,
    context: { orderId: 'order1234', customerId: 'cust5678' },
    errorMessage: 'Please provide a valid response!',
    ...overrides,
  });

  const post = (body: object) => stack.app.inject({ method: 'POST', url: '/conversations', payload: body });
  const read = async (id: string) =>
    (await stack.app.inject({ method: 'GET', url: `/conversations/${id}` })).json() as Transcript;
  /** The customer's number of each conversation: the simulator answers from it. */
  const customers = new Map<string, string>();
  const start = async (overrides: Record<string, unknown> = {}) => {
    const body = seedBody(overrides);
    const response = await post(body);
    expect(response.statusCode).toBe(202);
    const { conversationId } = response.json() as { conversationId: string };
    await eventually(
      () => read(conversationId),
      ({ status }) => status === 'awaiting_response',
    );
    expect((await read(conversationId)).status).toBe('awaiting_response');
    customers.set(conversationId, `+91${body.to.number}`);
    return { conversationId, body };
  };
  /** The customer writes to the business number, through the simulator's Infobip; the call as the simulator made it. */
  const answer = async (conversationId: string, text: string) => {
    const { call } = await stack.sim<{ call: InboundCall }>('POST', '/whatsapp/reply', {
      to: '123324242',
      from: customers.get(conversationId),
      text,
    });
    expect(call.outcome).toBe('delivered');
    return call;
  };
  /** What one receiver got for one conversation. */
  const got = (role: Role, conversationId: string) =>
    receivers[role].received.filter(({ body }) => body.conversationId === conversationId);
  const whatsappTo = async (phone: string) =>
    (
      await stack.sim<{ messages: SimulatorRecord[] }>(
        'GET',
        `/messages?channel=whatsapp&to=${encodeURIComponent(phone)}`,
      )
    ).messages;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

  beforeAll(async () => {
    const apiPort = await freePort();
    stack = await startTestStack({
      env: { PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`, HTTP_PORT: String(apiPort) },
    });
    // The simulator's inbound messages and delivery reports come over the network, to PUBLIC_BASE_URL.
    await stack.app.listen({ host: '127.0.0.1', port: apiPort });
    await stack.sim('PUT', '/reports/config', { delayMs: 50, seenDelayMs: 50 });
    for (const role of Object.keys(SECRETS) as Role[])
      receivers[role] = await startCallbackReceiver(() => SECRETS[role]);
    const admin = (url: string, payload: object) => stack.app.inject({ method: 'POST', url, payload });
    const providers = [
      {
        name: 'infobip',
        providerType: 'infobip',
        credentials: {
          clientId: 'your client id',
          clientSecret: 'your client secret',
          apiBaseUrl: stack.simulator.httpUrl,
        },
        isActive: true,
        isTenantDefault: true,
      },
      {
        name: 'tfn provider',
        providerType: 'pinpoint',
        channel: 'sms',
        credentials: { accessKeyId: 'AKIATFN', secretAccessKey: 'secret', region: 'us-east-1' },
        isActive: true,
      },
      {
        name: 'retired infobip',
        providerType: 'infobip',
        credentials: { apiKey: 'k', baseUrl: stack.simulator.httpUrl },
        isActive: false,
      },
    ];
    for (const provider of providers) expect((await admin('/providers', provider)).statusCode).toBe(201);
    const infobip = await stack.app.inject({ method: 'GET', url: '/providers/infobip' });
    await stack.sim('PUT', '/whatsapp/inbound', { url: infobip.json().inboundWebhookUrl });
    const templates = [
      {
        name: 'order delivery otp',
        mode: 'whatsapp',
        data: {
          body: 'Your delivery OTP is {{otp}}. Reply 1 once you have the order.',
          externalRef: 'order_delivery_otp',
        },
        isActive: true,
      },
      { name: 'order sent', mode: 'sms', data: { body: 'Your login OTP is {{otp}}' }, isActive: true },
    ];
    for (const template of templates) expect((await admin('/templates', template)).statusCode).toBe(201);
  });
  afterAll(async () => {
    await Promise.all(Object.values(receivers).map((receiver) => receiver.close()));
    await stack?.close();
  });

  it("sends the seed's sample and routes an accepted answer, once, signed, to its webhook with the context", async () => {
    const { conversationId, body } = await start();
    const phone = `+91${body.to.number}`;
    // The template with the document as its header; the image and the location go as messages of their own.
    const sent = await whatsappTo(phone);
    expect(sent).toHaveLength(3);
    const templates = sent.filter(({ raw }) => (raw?.content as { templateName?: string })?.templateName);
    expect(templates).toHaveLength(1);
    expect(templates[0].raw).toMatchObject({
      from: '123324242',
      content: {
        templateName: 'order_delivery_otp',
        templateData: {
          body: { placeholders: ['342365'] },
          header: { type: 'DOCUMENT', mediaUrl: 'https://example.com/docs/file.pdf' },
          buttons: [
            { type: 'QUICK_REPLY', parameter: 'track order' },
            { type: 'QUICK_REPLY', parameter: 'contact support' },
          ],
        },
      },
    });

    // Infobip's delivery and seen reports of the template message reach webhook.status, signed.
    const deliveries = await eventually(
      () => got('status', conversationId).filter(({ body }) => body.event === 'delivery'),
      (calls) => calls.length >= 2,
    );
    expect(deliveries.every(({ verified }) => verified)).toBe(true);
    expect(deliveries.map(({ body }) => body.delivery)).toEqual([
      { providerMessageId: templates[0].id, status: 'delivered' },
      { providerMessageId: templates[0].id, status: 'read' },
    ]);

    await answer(conversationId, '  Order   RECEIVED ');
    await eventually(
      () => got('accepted', conversationId),
      (calls) => calls.length > 0,
    );
    await settle();
    const calls = got('accepted', conversationId);
    expect(calls).toHaveLength(1);
    expect(calls[0].verified).toBe(true);
    expect(calls[0].body).toMatchObject({
      conversationId,
      event: 'answer',
      status: 'answered',
      answer: { text: '  Order   RECEIVED ', classification: 'accepted', acceptedResponse: 0 },
      from: '123324242',
      to: phone,
      context: { orderId: 'order1234', customerId: 'cust5678' },
    });
    expect(got('defaultInbound', conversationId)).toEqual([]);
    expect(got('invalidResponse', conversationId)).toEqual([]);
    // webhook.status hears of the message's delivery reports, and of nothing else here.
    expect(got('status', conversationId).filter(({ body }) => body.event !== 'delivery')).toEqual([]);

    const done = await eventually(
      () => read(conversationId),
      ({ transcript }) => transcript.some(({ kind, outcome }) => kind === 'webhook_call' && outcome === 'delivered'),
    );
    expect(done.status).toBe('answered');
    expect(done.closedAt).not.toBeNull();
    // Delivery reports may come in between: their steps are left out here.
    const steps = done.transcript.filter(({ kind, target }) => kind !== 'delivery_status' && target !== 'status');
    expect(steps.map(({ kind }) => kind)).toEqual(['message_sent', 'answer', 'closed', 'webhook_call']);
    expect(steps[1]).toMatchObject({ text: '  Order   RECEIVED ', classification: 'accepted' });
    expect(JSON.stringify(done)).not.toContain(SECRETS.accepted);
    expect(done.webhooks.map(({ target }) => target)).toEqual([
      'accepted:0',
      'defaultInbound',
      'status',
      'invalidResponse',
    ]);

    // The Temporal UI finds it by status and by the customer's hash, never by the number.
    const handle = stack.temporal.workflow.getHandle(conversationId);
    await handle.result();
    const { typedSearchAttributes } = await handle.describe();
    expect(typedSearchAttributes.get(SEARCH_ATTRIBUTES.conversationStatus)).toBe('answered');
    expect(typedSearchAttributes.get(SEARCH_ATTRIBUTES.customerHash)).toBe(
      customerHash(stack.config.env.CUSTOMER_HASH_SECRET!, phone),
    );
    // The pair is free again.
    const again = await post({ ...body, responseTimeout: 10 });
    expect(again.statusCode).toBe(202);
  });

  it('answers an invalid answer with errorMessage once and goes on waiting; a valid one then closes it', async () => {
    const { conversationId, body } = await start();
    const phone = `+91${body.to.number}`;
    await answer(conversationId, 'what is this?');
    await eventually(
      () => got('invalidResponse', conversationId),
      (calls) => calls.length > 0,
    );
    expect(got('invalidResponse', conversationId)[0]).toMatchObject({
      verified: true,
      body: {
        event: 'answer',
        status: 'awaiting_response',
        answer: { text: 'what is this?', classification: 'invalid' },
      },
    });
    const errorMessages = async () =>
      (await whatsappTo(phone)).filter((record) => JSON.stringify(record).includes('Please provide a valid response!'));
    await eventually(errorMessages, (found) => found.length > 0);
    expect((await read(conversationId)).status).toBe('awaiting_response');

    await answer(conversationId, '1');
    await eventually(
      () => got('accepted', conversationId),
      (calls) => calls.length > 0,
    );
    await settle();
    expect(await errorMessages()).toHaveLength(1);
    expect(got('invalidResponse', conversationId)).toHaveLength(1);
    expect(got('accepted', conversationId)).toMatchObject([{ verified: true, body: { answer: { text: '1' } } }]);
    expect((await read(conversationId)).status).toBe('answered');
  });

  it('fails after 20 invalid answers: each to webhook.invalidResponse, then the failure to webhook.status', async () => {
    const { conversationId, body } = await start({ errorMessage: undefined });
    const from = `+91${body.to.number}`;
    // One provider call carrying 21 messages: the 21st comes after the end and is not taken.
    await stack.sim('POST', '/whatsapp/replies', {
      replies: Array.from({ length: 21 }, (_, index) => ({ from, to: '123324242', text: `wrong ${index}` })),
    });
    // The webhook calls run beside the conversation (delivery statuses among them): wait for the receivers' count.
    await eventually(
      async () => ({ invalid: got('invalidResponse', conversationId), status: got('status', conversationId) }),
      ({ invalid, status }) => invalid.length >= 20 && status.some(({ body: call }) => call.event === 'failed'),
    );
    const failed = await read(conversationId);
    expect(failed.status).toBe('failed');
    expect(failed.transcript.filter(({ kind }) => kind === 'answer')).toHaveLength(20);
    expect(got('invalidResponse', conversationId)).toHaveLength(20);
    expect(got('invalidResponse', conversationId).at(-1)!.body).toMatchObject({ status: 'failed' });
    expect(got('status', conversationId).filter(({ body: call }) => call.event === 'failed')).toMatchObject([
      { verified: true, body: { status: 'failed', reason: '20 invalid answers' } },
    ]);
    // Without errorMessage the customer is told nothing: the question is the one message sent.
    expect(failed.transcript.filter(({ kind }) => kind === 'message_sent')).toHaveLength(1);
  });

  it("keeps an answer's medium in the transcript and the webhook call; a caption matches, a location cannot", async () => {
    const { conversationId } = await start({ errorMessage: undefined });
    const reply = (json: object) =>
      stack.sim<{ call: InboundCall }>('POST', '/whatsapp/reply', {
        to: '123324242',
        from: customers.get(conversationId),
        ...json,
      });
    const location = { type: 'location', latitude: 12.9716, longitude: 77.5946 };
    await reply({ type: 'LOCATION', latitude: 12.9716, longitude: 77.5946 });
    await eventually(
      () => got('invalidResponse', conversationId),
      (calls) => calls.length > 0,
    );
    expect(got('invalidResponse', conversationId)[0].body).toMatchObject({
      answer: { text: '', media: location, classification: 'invalid' },
    });
    const image = { type: 'image', url: 'https://media.example.com/parcel.jpg', caption: '1' };
    await reply({ type: 'IMAGE', mediaUrl: image.url, text: '1' });
    await eventually(
      () => got('accepted', conversationId),
      (calls) => calls.length > 0,
    );
    expect(got('accepted', conversationId)[0].body).toMatchObject({ answer: { text: '1', media: image } });
    const answers = (await read(conversationId)).transcript.filter(({ kind }) => kind === 'answer');
    expect(answers).toEqual([
      expect.objectContaining({ text: '', media: location, classification: 'invalid' }),
      expect.objectContaining({ text: '1', media: image }),
    ]);
  });

  it('routes an answer matching dynamicResponseRegex to webhook.defaultInbound', async () => {
    const { conversationId } = await start();
    await answer(conversationId, ' 482913 ');
    await eventually(
      () => got('defaultInbound', conversationId),
      (calls) => calls.length > 0,
    );
    expect(got('defaultInbound', conversationId)).toMatchObject([
      { verified: true, body: { event: 'answer', status: 'answered', answer: { classification: 'regex' } } },
    ]);
    expect(got('accepted', conversationId)).toEqual([]);
    expect((await read(conversationId)).status).toBe('answered');
    // The webhooks' secrets are stored encrypted: the document holds none of them, yet every call above verified.
    const stored = JSON.stringify(await stack.database.conversations.findOne({ _id: conversationId as never }));
    for (const secret of Object.values(SECRETS)) expect(stored).not.toContain(secret);
  });

  it('posts an answer that comes after the conversation decided to webhook.defaultInbound, as a late answer', async () => {
    // The accepted webhook keeps failing, so the decided conversation runs on, retrying it.
    const failing = await startCallbackReceiver(() => SECRETS.accepted, 1_000_000);
    try {
      const { conversationId, body } = await start({
        acceptedResponses: [{ messages: ['1'], webhook: { url: failing.url, secret: SECRETS.accepted } }],
      });
      await answer(conversationId, '1');
      await eventually(
        () => read(conversationId),
        ({ status }) => status === 'answered',
      );
      // The inbound webhook read the lock just before the conversation freed it: the answer reaches the decided one.
      const lock = {
        _id: conversationLockKey('123324242', `+91${body.to.number}`),
        conversationId,
        provider: 'infobip',
      };
      await stack.database.conversationLocks.insertOne({ ...lock, createdAt: new Date() } as never);
      const late = await answer(conversationId, 'ok, 1');
      const routed = await stack.database.inboundMessages.findOne({
        _id: `infobip|${late.results[0].messageId}` as never,
      });
      expect(routed).toMatchObject({ routed: 'late_answer', conversationId });
      await eventually(
        () => got('defaultInbound', conversationId),
        (calls) => calls.length > 0,
      );
      expect(got('defaultInbound', conversationId)).toMatchObject([
        { verified: true, body: { event: 'late_answer', status: 'answered', answer: { text: 'ok, 1' } } },
      ]);
      await stack.database.conversationLocks.deleteOne({ _id: lock._id as never });
    } finally {
      await stack.temporal.workflow
        .getHandle([...customers.keys()].at(-1)!)
        .terminate()
        .catch(() => undefined);
      await failing.close();
    }
  });

  it('times out after responseTimeout without an answer: webhook.status gets the timeout', async () => {
    const { conversationId } = await start({ responseTimeout: 10 });
    await eventually(
      () => got('status', conversationId),
      (calls) => calls.some(({ body }) => body.event === 'timeout'),
      25_000,
    );
    expect(got('status', conversationId).filter(({ body }) => body.event !== 'delivery')).toMatchObject([
      { verified: true, body: { event: 'timeout', status: 'timed_out', context: { orderId: 'order1234' } } },
    ]);
    const timedOut = await read(conversationId);
    expect(timedOut.status).toBe('timed_out');
    expect(timedOut.transcript.map(({ kind }) => kind)).toContain('timed_out');
    // An answer after the end is taken by the inbound webhook and reaches no conversation: it has ended.
    await answer(conversationId, '1');
    await settle();
    expect(got('accepted', conversationId)).toEqual([]);
    expect((await read(conversationId)).transcript.filter(({ kind }) => kind === 'answer')).toEqual([]);
  }, 40_000);

  it('sends the whatsapp template of a notification named instead of a template, once an admin enabled it', async () => {
    const inject = (url: string, payload: object = {}) => stack.app.inject({ method: 'POST', url, payload });
    const template = {
      name: 'delivery otp by notification',
      mode: 'whatsapp',
      data: { body: 'Your OTP is {{otp}}.', externalRef: 'delivery_otp_notified' },
      isActive: true,
    };
    expect((await inject('/templates', template)).statusCode).toBe(201);
    const registered = await inject('/notifications', {
      appId: 'orders-app',
      name: 'delivery otp',
      templates: { whatsapp: template.name },
    });
    expect(registered.statusCode).toBe(201);
    const byNotification = { notification: 'delivery otp', message: { data: { otp: '342365' } } };
    const pending = await post(seedBody(byNotification));
    expect([pending.statusCode, pending.json().message]).toEqual([
      409,
      'notification: "delivery otp" is pending an admin review',
    ]);
    expect((await inject(`/notifications/${registered.json()._id}/enable`)).statusCode).toBe(200);

    /** The provider template name one conversation by the notification sent, the conversation answered. */
    const templateSent = async () => {
      const { conversationId, body } = await start(byNotification);
      const sent = await whatsappTo(`+91${body.to.number}`);
      await answer(conversationId, '1');
      await eventually(
        () => read(conversationId),
        ({ status }) => status === 'answered',
      );
      return sent.map(({ raw }) => (raw?.content as { templateName?: string })?.templateName);
    };
    expect(await templateSent()).toEqual(['delivery_otp_notified']);

    // Edited after the review: the notification keeps sending what was approved, until it is enabled again.
    const stored = await stack.app.inject({
      method: 'GET',
      url: `/templates/by-name/${encodeURIComponent(template.name)}`,
    });
    const edited = await stack.app.inject({
      method: 'PATCH',
      url: `/templates/${stored.json()._id}`,
      payload: { data: { ...template.data, externalRef: 'delivery_otp_v2' } },
    });
    expect(edited.json().version).toBe(2);
    expect(await templateSent()).toEqual(['delivery_otp_notified']);
    expect((await inject(`/notifications/${registered.json()._id}/enable`)).json().approvedVersions).toEqual({
      whatsapp: 2,
    });
    expect(await templateSent()).toEqual(['delivery_otp_v2']);
  }, 60_000);

  it('answers a second conversation with the same customer and business number 409, naming the open one', async () => {
    const { conversationId, body } = await start();
    const second = await post({ ...body, context: { attempt: 2 } });
    expect(second.statusCode).toBe(409);
    expect(second.json().message).toContain(conversationId);
    // Another business number may talk to the same customer meanwhile.
    const otherBusiness = await post({ ...body, from: '+44 7860 099299' });
    expect(otherBusiness.statusCode).toBe(202);
    await answer(conversationId, '1');
    await eventually(
      () => read(conversationId),
      ({ status }) => status === 'answered',
    );
    expect((await post({ ...body, responseTimeout: 10 })).statusCode).toBe(202);
  });

  it('survives kill -9 of its worker while waiting: the answer after the restart is routed exactly once', async () => {
    await stack.stopWorker();
    let worker = await stack.spawnWorkerProcess();
    try {
      const { conversationId } = await start();
      worker.child.kill('SIGKILL');
      await worker.stop();
      worker = await stack.spawnWorkerProcess();
      const call = await answer(conversationId, 'order received');
      const { messageId } = call.results[0];
      // Providers repeat a call at times: the same message, byte for byte, is taken once.
      await stack.sim('POST', `/whatsapp/replies/${call.seq}/resend`);
      await eventually(
        () => got('accepted', conversationId),
        (calls) => calls.length > 0,
        40_000,
      );
      await settle();
      expect(got('accepted', conversationId)).toMatchObject([{ verified: true, body: { answer: { messageId } } }]);
      expect((await read(conversationId)).transcript.filter(({ kind }) => kind === 'message_sent')).toHaveLength(1);
    } finally {
      await worker.stop();
      await stack.startWorker();
    }
  }, 90_000);

  describe('refuses bad input with a 4xx naming the field, and starts nothing', () => {
    let mediaServer: Server;
    let mediaUrl = '';
    beforeAll(async () => {
      // Serves a 6 MB PNG as far as a HEAD can tell.
      mediaServer = createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'image/png', 'content-length': String(6 * 1024 * 1024) }).end();
      });
      await new Promise<void>((resolve) => mediaServer.listen(0, '127.0.0.1', resolve));
      mediaUrl = `http://127.0.0.1:${(mediaServer.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => mediaServer.close(() => resolve())));

    const seedMessage = () => seedBody().message;
    const cases: [string, () => Record<string, unknown>, number, RegExp][] = [
      ['a missing provider', () => ({ provider: undefined }), 400, /^provider: /],
      ['an unknown provider', () => ({ provider: 'nobody' }), 404, /^provider: no provider/],
      ['an inactive provider', () => ({ provider: 'retired infobip' }), 409, /^provider: .*inactive/],
      [
        'a provider of another channel',
        () => ({ provider: 'tfn provider' }),
        400,
        /^provider: .*sends sms, not whatsapp/,
      ],
      ['an unknown template', () => ({ message: { ...seedMessage(), template: 'nope' } }), 404, /^message\.template/],
      [
        'a template of another mode',
        () => ({ message: { ...seedMessage(), template: 'order sent' } }),
        400,
        /^message\.template/,
      ],
      ['an invalid regex', () => ({ dynamicResponseRegex: '^(\\d{6}$' }), 400, /^dynamicResponseRegex: not a valid/],
      [
        'a catastrophic regex',
        () => ({ dynamicResponseRegex: '^(\\d+)+$' }),
        400,
        /^dynamicResponseRegex: .*catastrophic/,
      ],
      ['responseTimeout under 10 s', () => ({ responseTimeout: 9 }), 400, /responseTimeout/],
      ['responseTimeout over 7 days', () => ({ responseTimeout: 604801 }), 400, /responseTimeout/],
      [
        'a webhook URL not http(s)',
        () => ({ webhook: { status: { url: 'ftp://example.com/status', secret: 's' } } }),
        400,
        /webhook\.status\.url/,
      ],
      [
        'an accepted response webhook URL not http(s)',
        () => ({ acceptedResponses: [{ messages: ['1'], webhook: { url: 'javascript:alert(1)', secret: 's' } }] }),
        400,
        /acceptedResponses\.0\.webhook\.url|acceptedResponses\[0\]\.webhook\.url/,
      ],
      ['a bad phone', () => ({ to: { countryCode: '91', number: '12' } }), 400, /^to\.number: /],
      [
        'a phone that cannot be one',
        () => ({ to: { countryCode: '44', number: '1' + '2'.repeat(14) } }),
        400,
        /^to: .* is not a possible phone number/,
      ],
      [
        'an image of another type',
        () => ({ message: { ...seedMessage(), media: { image: { url: 'https://example.com/map.gif' } } } }),
        400,
        /^message\.media\.image\.url: .*jpg, jpeg, png/,
      ],
      [
        'a document of another type',
        () => ({ message: { ...seedMessage(), media: { document: { url: 'https://example.com/sheet.xlsx' } } } }),
        400,
        /^message\.media\.document\.url: .*pdf, doc, docx/,
      ],
      [
        'an image larger than 5 MB',
        () => ({ message: { ...seedMessage(), media: { image: { url: `${mediaUrl}/big.png` } } } }),
        400,
        /^message\.media\.image\.url: .*5 MB at most/,
      ],
      [
        'no accepted response and no regex',
        () => ({ acceptedResponses: [], dynamicResponseRegex: undefined }),
        400,
        /^acceptedResponses/,
      ],
    ];

    it.each(cases)('%s', async (_name, change, statusCode, message) => {
      const before = await stack.database.conversations.countDocuments();
      const body = { ...seedBody(), ...change() };
      const response = await post(body);
      expect([response.statusCode, response.json().message]).toEqual([statusCode, expect.stringMatching(message)]);
      expect(response.json().error).toEqual(expect.any(String));
      expect(await stack.database.conversations.countDocuments()).toBe(before);
      // Only this request's own lock is asked for: earlier tests' conversations release theirs while this one runs.
      const to = body.to as { countryCode: string; number: string };
      const ownLock = { _id: conversationLockKey(body.from, `+${to.countryCode}${to.number}`) } as Record<
        string,
        unknown
      >;
      expect(await stack.database.conversationLocks.countDocuments(ownLock)).toBe(0);
    });
  });

  it('lists conversations newest first, by status and customer', async () => {
    const { conversationId, body } = await start();
    const list = async (query: string) =>
      (await stack.app.inject({ method: 'GET', url: `/conversations?${query}` })).json() as {
        conversations: { conversationId: string; status: string; to: string }[];
      };
    const byCustomer = await list(`to=${encodeURIComponent(`+91${body.to.number}`)}`);
    expect(byCustomer.conversations.map(({ conversationId: id }) => id)).toEqual([conversationId]);
    const waiting = await list('status=awaiting_response');
    expect(waiting.conversations.map(({ conversationId: id }) => id)).toContain(conversationId);
    expect(waiting.conversations.every(({ status }) => status === 'awaiting_response')).toBe(true);
    const all = await list('limit=2');
    expect(all.conversations[0].conversationId).toBe(conversationId);
    expect((await stack.app.inject({ method: 'GET', url: '/conversations/conv-nope' })).statusCode).toBe(404);
  });
});
