import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { decodeArrayFromPayloads, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { randomUUID } from 'node:crypto';
import { conversationLockKey } from '../../common/domain/conversation-model';
import { temporalDataConverter } from '../../common/temporal/data-converter';
import type { InboundMessageDocument } from '../../common/domain/inbound-message-model';
import { whatsappInboundWebhookPath } from '../../common/store/providers-repository';
import { providerWebhookUrl, webhookToken } from '../../common/http/webhook-urls';
import { freePort } from '../../scripts/local-stack';
import type { InboundCall } from '../../simulator';
import { testApiKey } from '../support/api-keys';
import { decideSignal } from '../support/conversation-stand-in';
import { eventually, startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver';
import { startTestStack, type TestStack } from '../support/test-stack';

const EventType = temporal.api.enums.v1.EventType;

/** The business number of the provider's WhatsApp sender, as Infobip writes it. */
const BUSINESS = '447860099299';
const WEBHOOK_SECRET = 'default-inbound-secret-0123456789';

/**
 * The inbound WhatsApp webhook (docs/whatsapp.md) on the real stack: the simulator plays Infobip posting its
 * inbound format to the URL the registry issued; a conversation is a stand-in workflow of this test's own
 * (test/support/conversation-stand-in.ts) on a queue of its own, so that what it was given stays in its history to
 * read; the provider's default inbound webhook is a receiver that verifies every signature.
 */
const ADMIN_KEY = testApiKey('admin-key');

describe('POST /webhooks/whatsapp/:provider/communications', () => {
  let stack: TestStack;
  let receiver: CallbackReceiver;
  let inboundUrl = '';
  const openConversations: string[] = [];
  // The conversations are stand-ins (test/support/conversation-stand-in.ts) on a queue of their own.
  const idleQueue = `stand-in-${randomUUID()}`;
  let standInConnection: NativeConnection | undefined;
  let standIn: Worker | undefined;
  let standInRun: Promise<void> | undefined;

  const admin = (method: 'POST' | 'PATCH', url: string, payload: object) =>
    stack.app.inject({ method, url, payload, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const stored = (provider: string, messageId: string) =>
    stack.database.inboundMessages.findOne({
      _id: `${provider}|${messageId}` as never,
    }) as Promise<InboundMessageDocument | null>;
  const reply = (json: object) => stack.sim<{ call: InboundCall }>('POST', '/whatsapp/reply', json);
  const replies = (json: object) => stack.sim<{ call: InboundCall }>('POST', '/whatsapp/replies', json);

  /**
   * A conversation of `customer` that is open, sent through `provider`: its lock, and a running stand-in workflow.
   * `provider: null`: a lock written before locks named their provider, with the conversation's document.
   */
  async function openConversation(customer: string, provider: string | null = 'infobip'): Promise<string> {
    const conversationId = `conv-${randomUUID()}`;
    await stack.database.conversationLocks.insertOne({
      _id: conversationLockKey(BUSINESS, customer) as never,
      conversationId,
      ...(provider !== null ? { provider } : {}),
      createdAt: new Date(),
    });
    if (provider === null)
      // A conversation as the inbound webhook reads it: its provider.
      await stack.database.conversations.insertOne({
        _id: conversationId,
        request: { provider: 'infobip', from: BUSINESS, to: customer },
      } as never);
    await stack.temporal.workflow.start('conversation', {
      workflowId: conversationId,
      taskQueue: idleQueue,
      args: [{}],
    });
    openConversations.push(conversationId);
    return conversationId;
  }

  /**
   * The signals and updates a workflow accepted, by name, their argument decoded. The tests spell the names out: they
   * are on the wire and in recorded histories, so a renamed definition must fail here.
   */
  async function signalsOf(workflowId: string): Promise<{ name: string; input: unknown }[]> {
    const converter = loadDataConverter(temporalDataConverter(stack.config.env));
    const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
    const given = (history.events ?? []).filter(
      (event) =>
        event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED ||
        event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    );
    return Promise.all(
      given.map(async (event) => {
        if (event.workflowExecutionSignaledEventAttributes) {
          const attributes = event.workflowExecutionSignaledEventAttributes;
          const [input] = await decodeArrayFromPayloads(converter, attributes.input?.payloads);
          return { name: attributes.signalName!, input };
        }
        const update = event.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!;
        const [input] = await decodeArrayFromPayloads(converter, update.args?.payloads);
        return { name: update.name!, input };
      }),
    );
  }

  beforeAll(async () => {
    const apiPort = await freePort();
    stack = await startTestStack({
      env: {
        PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
        HTTP_PORT: String(apiPort),
        API_KEYS: `${ADMIN_KEY}:send+read+admin`,
      },
    });
    standInConnection = await NativeConnection.connect({ address: stack.config.env.TEMPORAL_ADDRESS });
    standIn = await Worker.create({
      connection: standInConnection,
      namespace: stack.config.env.TEMPORAL_NAMESPACE,
      taskQueue: idleQueue,
      workflowsPath: require.resolve('../support/conversation-stand-in'),
      dataConverter: temporalDataConverter(stack.config.env),
    });
    standInRun = standIn.run();
    // The simulator posts over the network to the URL the registry issued, as Infobip does.
    await stack.app.listen({ host: '127.0.0.1', port: apiPort });
    receiver = await startCallbackReceiver(() => WEBHOOK_SECRET);
    const registered = await admin('POST', '/providers', {
      name: 'infobip',
      providerType: 'infobip',
      credentials: { clientId: 'client', clientSecret: 'client-secret', apiBaseUrl: stack.simulator.httpUrl },
      inboundWebhook: { url: receiver.url, secret: WEBHOOK_SECRET },
    });
    expect(registered.statusCode).toBe(201);
    inboundUrl = registered.json().inboundWebhookUrl;
    expect(inboundUrl).toBe(providerWebhookUrl(stack.config.env, whatsappInboundWebhookPath('infobip')));
    const quiet = await admin('POST', '/providers', {
      name: 'quiet',
      providerType: 'infobip',
      credentials: { clientId: 'client', clientSecret: 'client-secret', apiBaseUrl: stack.simulator.httpUrl },
    });
    expect(quiet.statusCode).toBe(201);
    await stack.sim('PUT', '/whatsapp/inbound', { url: inboundUrl });
  });
  afterAll(async () => {
    for (const id of openConversations)
      await stack.temporal.workflow
        .getHandle(id)
        .terminate()
        .catch(() => undefined);
    await receiver?.close();
    standIn?.shutdown();
    await standInRun;
    await standInConnection?.close();
    await stack?.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
  });

  it('takes a call of two messages: one signalled to its open conversation, one to the default webhook, both recorded', async () => {
    const conversationId = await openConversation('15550100');
    const { call } = await replies({
      replies: [
        { from: '+1 555 0100', to: BUSINESS, text: 'Confirm' },
        { from: '+1 555 0200', to: BUSINESS, text: 'Who is this?' },
      ],
    });
    expect([call.outcome, call.answered]).toEqual(['delivered', 200]);
    const [answer, stranger] = call.results;

    expect(await signalsOf(conversationId)).toEqual([
      {
        name: 'takeAnswer',
        input: { messageId: answer.messageId, text: 'Confirm', receivedAt: expect.any(String) },
      },
    ]);
    expect(await stored('infobip', answer.messageId)).toMatchObject({
      provider: 'infobip',
      from: '15550100',
      to: BUSINESS,
      type: 'TEXT',
      text: 'Confirm',
      conversationId,
      routed: 'conversation',
    });

    await eventually(
      () => receiver.received.length,
      (count) => count > 0,
    );
    expect(receiver.received).toEqual([
      {
        verified: true,
        body: {
          event: 'inbound_message',
          provider: 'infobip',
          messageId: stranger.messageId,
          from: '15550200',
          to: BUSINESS,
          type: 'TEXT',
          text: 'Who is this?',
          receivedAt: expect.any(String),
          pairedMessageId: null,
          conversationId: null,
        },
      },
    ]);
    const routed = await eventually(
      () => stored('infobip', stranger.messageId),
      (message) => message?.webhook?.deliveredAt !== undefined,
    );
    expect(routed).toMatchObject({ routed: 'default_inbound', conversationId: null, webhook: { attempts: 1 } });
    // The workflow that posted it is named by the message, never by the customer.
    const workflowId = `inbound-infobip|${stranger.messageId}`;
    await stack.temporal.workflow.getHandle(workflowId).result();
    expect((await stack.temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
  });

  it('refuses a forged call with 401, and records, signals and posts nothing', async () => {
    const conversationId = await openConversation('15550300');
    const body = {
      results: [
        {
          from: '15550300',
          to: BUSINESS,
          integrationType: 'WHATSAPP',
          receivedAt: '2026-01-31T12:00:00.000+0000',
          messageId: 'forged-1',
          message: { type: 'TEXT', text: 'Confirm' },
        },
      ],
      messageCount: 1,
      pendingMessageCount: 0,
    };
    const path = whatsappInboundWebhookPath('infobip');
    const forgeries = [
      path,
      `${path}?token=${'0'.repeat(32)}`,
      // A token issued for another provider's URL.
      `${path}?token=${webhookToken(stack.config.env, whatsappInboundWebhookPath('quiet'))}`,
    ];
    for (const url of [...forgeries, `${path}?token=short`]) {
      const response = await stack.app.inject({ method: 'POST', url, payload: body });
      expect([url, response.statusCode, response.json().message]).toEqual([
        url,
        401,
        'token: this webhook URL was not issued by this service',
      ]);
    }
    // Even a body that is not Infobip's is refused for its token first.
    const garbage = await stack.app.inject({ method: 'POST', url: forgeries[1], payload: { results: 'no' } });
    expect(garbage.statusCode).toBe(401);
    expect(await stored('infobip', 'forged-1')).toBeNull();
    expect(await signalsOf(conversationId)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.calls()).toBe(1);
  });

  it('takes a repeated call once: no second record, signal or post', async () => {
    const conversationId = await openConversation('15550400');
    const callsBefore = receiver.calls();
    const { call } = await replies({
      replies: [
        { from: '15550400', to: BUSINESS, text: '1' },
        { from: '15550500', to: BUSINESS, text: 'hello' },
      ],
    });
    await eventually(
      () => receiver.calls(),
      (calls) => calls > callsBefore,
    );
    const again = await stack.sim<{ call: InboundCall }>('POST', `/whatsapp/replies/${call.seq}/resend`);
    expect(again.call.outcome).toBe('delivered');
    const direct = await stack.app.inject({
      method: 'POST',
      url: new URL(inboundUrl).pathname + new URL(inboundUrl).search,
      payload: JSON.parse(call.body),
    });
    expect(direct.json()).toEqual({ received: 0, repeated: 2 });

    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await signalsOf(conversationId)).map(({ name }) => name)).toEqual(['takeAnswer']);
    expect(receiver.calls()).toBe(callsBefore + 1);
    const ids = call.results.map(({ messageId }) => `infobip|${messageId}`);
    expect(await stack.database.inboundMessages.countDocuments({ _id: { $in: ids as never[] } })).toBe(2);
  });

  it('routes again a message whose first call died before its route was written', async () => {
    const conversationId = await openConversation('15550600');
    const messageId = `died-${randomUUID()}`;
    await stack.database.inboundMessages.insertOne({
      _id: `infobip|${messageId}`,
      provider: 'infobip',
      messageId,
      from: '15550600',
      to: BUSINESS,
      type: 'TEXT',
      text: 'yes',
      receivedAt: new Date(),
      pairedMessageId: null,
      conversationId: null,
      routed: 'pending',
      createdAt: new Date(),
    } satisfies InboundMessageDocument as never);
    const response = await stack.app.inject({
      method: 'POST',
      url: new URL(inboundUrl).pathname + new URL(inboundUrl).search,
      payload: { results: [{ from: '15550600', to: BUSINESS, messageId, message: { type: 'TEXT', text: 'yes' } }] },
    });
    expect(response.json()).toEqual({ received: 1, repeated: 0 });
    expect((await signalsOf(conversationId)).map(({ input }) => input)).toEqual([
      { messageId, text: 'yes', receivedAt: expect.any(String) },
    ]);
    expect(await stored('infobip', messageId)).toMatchObject({ routed: 'conversation', conversationId });
  });

  it('keeps an inbound medium (type, URL or coordinates, caption) for its conversation and the default webhook', async () => {
    const conversationId = await openConversation('15550650');
    const post = (results: object[]) =>
      stack.app.inject({
        method: 'POST',
        url: new URL(inboundUrl).pathname + new URL(inboundUrl).search,
        payload: { results },
      });
    const image = {
      from: '15550650',
      to: BUSINESS,
      messageId: `image-${randomUUID()}`,
      message: { type: 'IMAGE', url: 'https://media.example.com/parcel.jpg', caption: 'the parcel, torn' },
    };
    const location = {
      from: '15550660',
      to: BUSINESS,
      messageId: `location-${randomUUID()}`,
      message: { type: 'LOCATION', latitude: 12.9716, longitude: 77.5946, name: 'Home', address: '1 MG Road' },
    };
    const document = {
      from: '15550670',
      to: BUSINESS,
      messageId: `document-${randomUUID()}`,
      message: { type: 'DOCUMENT', url: 'https://media.example.com/invoice.pdf' },
    };
    expect((await post([image, location, document])).json()).toEqual({ received: 3, repeated: 0 });

    const imageMedia = { type: 'image', url: 'https://media.example.com/parcel.jpg', caption: 'the parcel, torn' };
    expect((await signalsOf(conversationId)).map(({ input }) => input)).toEqual([
      { messageId: image.messageId, text: 'the parcel, torn', receivedAt: expect.any(String), media: imageMedia },
    ]);
    expect(await stored('infobip', image.messageId)).toMatchObject({ type: 'IMAGE', media: imageMedia });

    await eventually(
      () => receiver.received.length,
      (count) => count >= 2,
    );
    const posted = new Map(receiver.received.map(({ body }) => [body.messageId, body]));
    expect(posted.get(location.messageId)).toMatchObject({
      type: 'LOCATION',
      text: '',
      media: { type: 'location', latitude: 12.9716, longitude: 77.5946, name: 'Home', address: '1 MG Road' },
    });
    expect(posted.get(document.messageId)).toMatchObject({
      type: 'DOCUMENT',
      media: { type: 'document', url: 'https://media.example.com/invoice.pdf' },
    });
  });

  it('takes a conversation that has ended as none open: the message goes to the default webhook', async () => {
    const conversationId = await openConversation('15550700');
    await stack.temporal.workflow.getHandle(conversationId).terminate('answered');
    const { call } = await reply({ from: '15550700', to: BUSINESS, text: 'one more thing', type: 'BUTTON' });
    const routed = await eventually(
      () => stored('infobip', call.results[0].messageId),
      (message) => message?.webhook?.deliveredAt !== undefined,
    );
    expect(routed).toMatchObject({ routed: 'default_inbound', conversationId: null, type: 'BUTTON' });
    expect(receiver.received.map(({ body, verified }) => [body.text, verified])).toEqual([['one more thing', true]]);
  });

  it("answers a provider's conversations only with messages posted to that provider's inbound URL", async () => {
    // A conversation sent through "quiet"; the same customer writes to the business number through "infobip".
    const elsewhere = await openConversation('15550710', 'quiet');
    const { call } = await reply({ from: '15550710', to: BUSINESS, text: 'Confirm' });
    const routed = await eventually(
      () => stored('infobip', call.results[0].messageId),
      (message) => message?.webhook?.deliveredAt !== undefined,
    );
    expect(routed).toMatchObject({ routed: 'default_inbound', conversationId: null });
    expect(await signalsOf(elsewhere)).toEqual([]);
    // A lock written before locks named their provider is checked against its conversation's document.
    const legacy = await openConversation('15550720', null);
    const answered = await reply({ from: '15550720', to: BUSINESS, text: 'Confirm' });
    expect(await stored('infobip', answered.call.results[0].messageId)).toMatchObject({
      routed: 'conversation',
      conversationId: legacy,
    });
    expect((await signalsOf(legacy)).map(({ name }) => name)).toEqual(['takeAnswer']);
  });

  it('records an answer that its conversation posted on as late (it had decided) as such, not as taken', async () => {
    const conversationId = await openConversation('15550730');
    await stack.temporal.workflow.getHandle(conversationId).signal(decideSignal);
    const { call } = await reply({ from: '15550730', to: BUSINESS, text: 'Confirm, sorry for the delay' });
    expect(await stored('infobip', call.results[0].messageId)).toMatchObject({ routed: 'late_answer', conversationId });
    // Not the provider's default webhook: the conversation's own defaultInbound has it.
    expect(receiver.received).toEqual([]);
  });

  it('retries the default webhook until it answers 2xx', async () => {
    const failing = await startCallbackReceiver(() => WEBHOOK_SECRET, 1);
    try {
      await admin('PATCH', '/providers/infobip', { inboundWebhook: { url: failing.url, secret: WEBHOOK_SECRET } });
      const { call } = await reply({ from: '15550800', to: BUSINESS, text: 'hello?' });
      const routed = await eventually(
        () => stored('infobip', call.results[0].messageId),
        (message) => message?.webhook?.deliveredAt !== undefined,
      );
      expect(routed?.webhook).toMatchObject({ attempts: 2, lastStatus: 204 });
      expect(failing.calls()).toBe(2);
      expect(failing.received.map(({ body, verified }) => [body.text, verified])).toEqual([['hello?', true]]);
    } finally {
      await admin('PATCH', '/providers/infobip', { inboundWebhook: { url: receiver.url, secret: WEBHOOK_SECRET } });
      await failing.close();
    }
  });

  it('puts a customer who replies STOP on the WhatsApp suppression list, and routes the message as any other', async () => {
    const quietUrl = providerWebhookUrl(stack.config.env, whatsappInboundWebhookPath('quiet'));
    const { call } = await reply({ from: '15550901', to: BUSINESS, text: ' Stop ', url: quietUrl });
    expect(call.answered).toBe(200);
    expect(await stored('quiet', call.results[0].messageId)).toMatchObject({ routed: 'none', text: ' Stop ' });
    expect(await stack.database.suppressions.findOne({ _id: 'whatsapp|+15550901' })).toMatchObject({
      source: 'inbound-stop',
    });
    await reply({ from: '15550902', to: BUSINESS, text: 'please stop by tomorrow', url: quietUrl });
    expect(await stack.database.suppressions.findOne({ _id: 'whatsapp|+15550902' })).toBeNull();
  });

  it('records a message that no conversation awaits and no webhook receives; 404 for a provider it has no WhatsApp of', async () => {
    const quietUrl = providerWebhookUrl(stack.config.env, whatsappInboundWebhookPath('quiet'));
    const { call } = await reply({ from: '15550900', to: BUSINESS, text: 'anyone?', url: quietUrl });
    expect(call.answered).toBe(200);
    expect(await stored('quiet', call.results[0].messageId)).toMatchObject({ routed: 'none', text: 'anyone?' });

    for (const name of ['nobody', 'twilio sms']) {
      if (name === 'twilio sms') {
        await admin('POST', '/providers', {
          name,
          providerType: 'twilio',
          channel: 'sms',
          credentials: { baseUrl: stack.simulator.httpUrl, accountSid: 'AC1', authToken: 'token' },
        });
      }
      const path = whatsappInboundWebhookPath(name);
      const response = await stack.app.inject({
        method: 'POST',
        url: `${path}?token=${webhookToken(stack.config.env, path)}`,
        payload: { results: [{ from: '1', to: BUSINESS, messageId: 'x', message: { type: 'TEXT', text: 'x' } }] },
      });
      expect([name, response.statusCode, response.json().message]).toEqual([
        name,
        404,
        `provider: no WhatsApp provider is named "${name}"`,
      ]);
    }
    const malformed = await stack.app.inject({
      method: 'POST',
      url: new URL(inboundUrl).pathname + new URL(inboundUrl).search,
      payload: { results: [{ from: '1', to: BUSINESS, message: { type: 'TEXT' } }] },
    });
    expect([malformed.statusCode, malformed.json().message]).toEqual([
      400,
      expect.stringMatching(/^results\.0\.messageId: /),
    ]);
  });

  it("signals a delivery report of a conversation's message to the conversation, owing no /messages callback", async () => {
    const conversationId = await openConversation('15551000');
    const providerMessageId = `report-${randomUUID()}`;
    const deliveryKey = `${conversationId}|whatsapp|question`;
    await stack.database.deliveries.insertOne({
      _id: deliveryKey,
      sendId: conversationId,
      userId: 'question',
      channel: 'whatsapp',
      status: 'sent',
      attempts: 1,
      providerMessageId,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    await stack.database.providerMessages.insertOne({
      _id: `infobip:${providerMessageId}` as never,
      requestId: conversationId,
      deliveryKey,
      createdAt: new Date(),
    });
    const path = '/webhooks/infobip/reports';
    const report = (result: object) =>
      stack.app.inject({
        method: 'POST',
        url: `${path}?token=${webhookToken(stack.config.env, path)}&provider=infobip`,
        payload: { results: [{ messageId: providerMessageId, ...result }] },
      });
    expect((await report({ status: { groupName: 'DELIVERED' } })).statusCode).toBe(204);
    expect((await report({ seenAt: '2026-01-31T12:00:01.000+0000' })).statusCode).toBe(204);

    // A signal that comes while the stand-in's workflow task runs enters the history when the task completes.
    const signalled = await eventually(
      () => signalsOf(conversationId),
      (signals) => signals.length >= 2,
    );
    expect(signalled).toEqual([
      { name: 'deliveryStatus', input: { providerMessageId, status: 'delivered' } },
      { name: 'deliveryStatus', input: { providerMessageId, status: 'read' } },
    ]);
    expect((await stack.database.deliveries.findOne({ _id: deliveryKey }))?.status).toBe('read');
    expect(await stack.database.callbackEvents.countDocuments({ requestId: conversationId })).toBe(0);
  });
});
