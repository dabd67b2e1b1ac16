import { BSON, ObjectId } from 'mongodb';
import { parseCodecKeys } from '../../common/crypto/encryption-codec';
import { erasedUserTag } from '../../common/store/erasure';
import { insertUsers, person, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const MARIO_PHONE = '+393331234567';
const LUIGI_PHONE = '+393337654321';
const BUSINESS = '123324242';

/**
 * Every string by which a person could be found: their user id, email address, phone number in each form, and the
 * id of their conversation (what exists for them alone: its transcript names them by it).
 */
const traces = ({ userId, email, phone, conversationId }: Record<string, string>) => [
  userId,
  email,
  phone,
  phone.slice(1),
  conversationId,
];

/**
 * `POST /erasures` on the suite's FerretDB and Temporal (docs/operations.md "Erasure"): a real send and a real `POST
 * /messages` through the worker and the simulator, plus the documents conversations and inbound WhatsApp messages keep,
 * then every collection of the database is read whole for what is left of the person.
 */
describe('POST /erasures', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
    const template = await stack.app.inject({
      method: 'POST',
      url: '/templates',
      payload: { name: 'otp', mode: 'sms', data: { body: 'Your code is {{otp}}' }, isActive: true },
    });
    expect(template.statusCode).toBe(201);
  });
  afterAll(() => stack.close());

  const post = (url: string, payload: object) => stack.app.inject({ method: 'POST', url, payload });
  const erase = (payload: object) => post('/erasures', payload);

  /** Each collection's documents (the database's own listing: a collection the code adds later is read too). */
  async function hits(needles: string[]): Promise<Record<string, number>> {
    const found: Record<string, number> = {};
    for (const { name } of await stack.database.db.listCollections({}, { nameOnly: true }).toArray()) {
      const docs = await stack.database.db.collection(name).find({}).toArray();
      const count = docs.filter((doc) => needles.some((needle) => BSON.EJSON.stringify(doc).includes(needle))).length;
      if (count > 0) found[name] = count;
    }
    return found;
  }

  /** A person with a send (one sms refused by the provider, quoting the number), a request, a conversation, … */
  async function seedPerson(name: string, phone: string, others: string[], conversationStatus = 'answered') {
    const [userId] = await insertUsers(stack, [person(name, { phoneNumber: phone })]);
    const email = `${name.toLowerCase()}@example.com`;
    const digits = phone.slice(1);
    const now = new Date();
    // A conversation of theirs with its transcript and lock, and what they wrote to the business number.
    const conversationId = `conv-${new ObjectId().toHexString()}`;
    await stack.database.conversations.insertOne({
      _id: conversationId as never,
      // Only what the erasure reads of a conversation.
      request: { from: BUSINESS, to: phone, provider: 'wa', message: { template: 'otp', data: { name } } } as never,
      status: conversationStatus as never,
      customerHash: 'x',
      createdAt: now,
      updatedAt: now,
    });
    await stack.database.conversationEvents.insertOne({
      _id: `${conversationId}|answer|m1` as never,
      conversationId,
      kind: 'answer',
      at: now,
      detail: { text: `yes, ${name} here` },
      createdAt: now,
    });
    await stack.database.conversationLocks.insertOne({
      _id: `${BUSINESS}|${digits}` as never,
      conversationId,
      createdAt: now,
    });
    // Its message's ledger entry (the provider's refusal quotes the number), claim and provider message id.
    await stack.database.deliveries.insertOne({
      _id: `${conversationId}|whatsapp|question`,
      sendId: conversationId,
      userId: 'question',
      channel: 'whatsapp',
      status: 'failed',
      attempts: 1,
      error: `infobip answered 400: ${phone} is not a WhatsApp number`,
      createdAt: now,
      updatedAt: now,
    });
    await stack.database.dispatchClaims.insertOne({
      _id: `${conversationId}|whatsapp|x`,
      sendId: conversationId,
      channel: 'whatsapp',
      size: 1,
      createdAt: now,
    });
    await stack.database.providerMessages.insertOne({
      _id: `infobip:pm-${digits}` as never,
      requestId: conversationId,
      deliveryKey: `${conversationId}|whatsapp|question`,
      createdAt: now,
    });
    // A batch of a running send whose first user they are (its key ends with their id).
    await stack.database.batchCounts.insertOne({
      _id: `send-running-${name}|sms|0|${userId}`,
      sendId: `send-running-${name}`,
      channel: 'sms',
      counts: { sent: 1 + others.length },
      failures: [],
      createdAt: now,
    });
    await stack.database.inboundMessages.insertOne({
      _id: `wa|in-${digits}` as never,
      provider: 'wa',
      messageId: `in-${digits}`,
      from: digits,
      to: BUSINESS,
      type: 'TEXT',
      text: `yes, ${name} here`,
      receivedAt: now,
      pairedMessageId: null,
      conversationId,
      routed: 'conversation',
      createdAt: now,
    });
    // A callback event of a `POST /messages` address (the request below has no callback URL).
    await stack.database.callbackEvents.insertOne({
      _id: `msg-${name}|sms|1/0|failed` as never,
      requestId: `msg-${name}`,
      deliveryKey: `msg-${name}|sms|1/0`,
      payload: {
        to: phone,
        status: 'failed',
        error: `The 'To' number ${phone} is not valid`,
        channel: 'sms',
      } as never,
      state: 'pending',
      attempts: 0,
      createdAt: now,
    });
    // The snapshot page of a send still running, with its copies of the users.
    const user = await stack.database.users.findOne({ _id: new ObjectId(userId) });
    await stack.database.audiencePages.insertOne({
      _id: `send-running-${name}|0`,
      sendId: `send-running-${name}`,
      page: 0,
      userIds: [userId, ...others],
      users: [user!, ...others.map((id) => ({ _id: id }))],
      createdAt: now,
    });
    return { userId, email, phone, conversationId };
  }

  it('removes or masks everything of one user, leaves the others, and a repeat touches nothing', async () => {
    const luigi = await seedPerson('Luigi', LUIGI_PHONE, []);
    const mario = await seedPerson('Mario', MARIO_PHONE, [luigi.userId]);
    // Mario's number is refused by Twilio (21211), whose answer quotes it: the ledger, the send's failures and its
    // batch counts hold it.
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: [MARIO_PHONE] });
    const send = await post('/send', {
      channels: ['sms', 'email'],
      recipients: [mario.userId, luigi.userId],
      messageTitle: 'Hi',
      messageContent: 'Hello {{user.name}}',
      emailCarbonCopies: [mario.email],
    });
    expect(send.statusCode).toBe(200);
    const { sendId } = send.json();
    expect(send.json().failures).toEqual([expect.objectContaining({ userId: mario.userId, code: 'TWILIO_21211' })]);
    const messages = await post('/messages', {
      sms: [
        { template: 'otp', data: { otp: '1234' }, to: [{ countryCode: '39', number: MARIO_PHONE.slice(3) }] },
        { template: 'otp', data: { otp: '5678' }, to: [{ countryCode: '39', number: LUIGI_PHONE.slice(3) }] },
      ],
    });
    expect(messages.statusCode).toBe(202);
    await stack.sim('DELETE', '/faults');

    const marioTraces = traces(mario);
    const luigiTraces = traces(luigi);
    // What `DELETE /users/:id` would leave: the person is in every collection that holds people.
    expect(Object.keys(await hits(marioTraces)).sort()).toEqual(
      [
        'users',
        'audience_pages',
        'deliveries',
        'dispatch_claims',
        'provider_messages',
        'batch_counts',
        'sends',
        'message_requests',
        'callback_events',
        'conversations',
        'conversation_events',
        'conversation_locks',
        'inbound_messages',
      ].sort(),
    );
    const luigiBefore = await hits(luigiTraces);
    const countsBefore = (await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json().counts;
    const ledgerBefore = await stack.database.deliveries.countDocuments({ sendId });

    const erased = await erase({ userId: mario.userId });
    expect(erased.statusCode).toBe(200);
    expect(erased.json()).toMatchObject({ erasureId: expect.stringMatching(/^era-/), userId: mario.userId });
    expect(erased.json().touched).toMatchObject({
      users: 1,
      audiencePages: 2,
      deliveries: 3,
      // The conversation's, and the send's claims of Mario's sms and email.
      dispatchClaims: 3,
      providerMessages: 1,
      batchCounts: 2,
      sends: 2,
      messageRequests: 1,
      callbackEvents: 1,
      conversations: 1,
      conversationEvents: 1,
      conversationLocks: 1,
      inboundMessages: 1,
    });

    expect(await hits(marioTraces)).toEqual({});
    expect(await hits(luigiTraces)).toEqual(luigiBefore);
    // The send's accounting stays: its counts, and Mario as a masked failure.
    const after = (await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json();
    expect(after.counts).toEqual(countsBefore);
    expect(await stack.database.deliveries.countDocuments({ sendId })).toBe(ledgerBefore);
    expect(
      await stack.database.batchCounts.countDocuments({ _id: { $regex: /^send-running-Mario\|sms\|0\|erased-/ } }),
    ).toBe(1);
    expect(after.failures).toEqual([
      expect.objectContaining({ userId: expect.stringMatching(/^erased-[0-9a-f]{12}$/), error: 'erased' }),
    ]);
    const page = await stack.database.audiencePages.findOne({ _id: `send-running-Mario|0` });
    expect(page!.userIds[1]).toBe(luigi.userId);
    expect(page!.users![1]).toEqual({ _id: luigi.userId });

    const record = await stack.database.db.collection('erasures').findOne({ _id: erased.json().erasureId });
    expect(record).toMatchObject({ subjectKind: 'userId', subjectHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(record!.touched).toEqual(erased.json().touched);

    const repeat = await erase({ userId: mario.userId });
    expect(repeat.statusCode).toBe(200);
    expect(Object.values(repeat.json().touched).every((count) => count === 0)).toBe(true);
    expect(await hits(luigiTraces)).toEqual(luigiBefore);
  });

  it('erases an address wherever it is stored, the user keeping its other fields', async () => {
    // Her conversation is open, its workflow unknown to Temporal: stopping it is no error.
    const anna = await seedPerson('Anna', '+393339990001', [], 'awaiting_response');
    const erased = await erase({ address: anna.phone });
    expect(erased.statusCode).toBe(200);
    expect(erased.json().touched).toMatchObject({
      users: 1,
      audiencePages: 1,
      callbackEvents: 1,
      conversations: 1,
      inboundMessages: 1,
    });
    expect(await hits([anna.phone, anna.phone.slice(1), anna.conversationId])).toEqual({});
    const user = await stack.database.users.findOne({ _id: new ObjectId(anna.userId) });
    expect(user).toMatchObject({ name: 'Anna', emailAddress: anna.email });
    expect(user).not.toHaveProperty('phoneNumber');
    expect(Object.values((await erase({ address: anna.phone })).json().touched).every((n) => n === 0)).toBe(true);
  });

  it('finishes an erasure that stopped between a masked copy and the deletion of its original', async () => {
    const [userId] = await insertUsers(stack, [person('Zoe')]);
    const entry = {
      sendId: 'send-zoe',
      userId,
      channel: 'sms' as const,
      status: 'sent' as const,
      attempts: 1,
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    const tag = erasedUserTag(parseCodecKeys(stack.config.env.TEMPORAL_CODEC_KEYS!)[0], userId);
    // What the first run left: the masked copy written, the original not deleted yet.
    await stack.database.deliveries.insertMany([
      { ...entry, _id: `send-zoe|sms|${userId}` },
      { ...entry, _id: `send-zoe|sms|${tag}`, userId: tag },
    ]);
    const erased = await erase({ userId });
    expect(erased.json().touched).toMatchObject({ users: 1, deliveries: 1 });
    const ledger = await stack.database.deliveries.find({ sendId: 'send-zoe' }).toArray();
    expect(ledger.map(({ _id, userId, status }) => ({ _id, userId, status }))).toEqual([
      { _id: `send-zoe|sms|${tag}`, userId: tag, status: 'sent' },
    ]);
  });

  it('stops the workflow of an open conversation before its documents go', async () => {
    const provider = await post('/providers', {
      name: 'infobip',
      providerType: 'infobip',
      credentials: { apiKey: 'k', baseUrl: stack.simulator.httpUrl },
      isActive: true,
    });
    expect(provider.statusCode).toBe(201);
    const template = await post('/templates', {
      name: 'confirm',
      mode: 'whatsapp',
      data: { body: 'Reply 1 to confirm {{orderId}}', externalRef: 'confirm_v1' },
      isActive: true,
    });
    expect(template.statusCode).toBe(201);
    const started = await post('/conversations', {
      from: BUSINESS,
      to: { countryCode: '39', number: '3335550001' },
      provider: 'infobip',
      message: { template: 'confirm', data: { orderId: 'ORD-1' } },
      acceptedResponses: [{ messages: ['1'], webhook: { url: 'https://example.com/accepted', secret: 's3cret' } }],
      webhook: {},
      responseTimeout: 300,
    });
    expect(started.statusCode).toBe(202);
    const { conversationId } = started.json();
    const handle = stack.temporal.workflow.getHandle(conversationId);
    await waitFor(async () => {
      const stored = await stack.database.conversations.findOne({ _id: conversationId as never });
      return stored?.status === 'awaiting_response';
    });

    const erased = await erase({ address: '+393335550001' });
    expect(erased.statusCode).toBe(200);
    expect(erased.json().touched).toMatchObject({ conversations: 1, conversationLocks: 1, deliveries: 1 });
    expect((await handle.describe()).status.name).toBe('TERMINATED');
    expect(await hits(['+393335550001', '393335550001', conversationId])).toEqual({});
  });

  it.each([
    [{}, 'userId: give userId or address'],
    [{ userId: 'u1', address: 'a@example.com' }, 'address: give userId or address, not both'],
    [{ address: 'not an address' }, 'address: must be an email address or a phone number'],
    [{ userId: 'u1', extra: 1 }, 'body: '],
    [{ userId: '' }, 'userId: '],
  ])('refuses %j with a 400 naming the field', async (payload, message) => {
    const response = await erase(payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(response.json().message).toContain(message);
  });
});
