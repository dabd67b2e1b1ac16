import { ObjectId } from 'mongodb';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

describe('POST /send end to end through Temporal (docs/api.md)', () => {
  let stack: TestStack;
  const templateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.database.templates.insertOne({
      _id: templateId,
      name: 'appointment',
      emailTitle: 'Appointment for {{user.name}}',
      emailHtmlMessage: '<p>Hello, {{user.name}}! {{#if (eq data.type "patients")}}{{data.firstName}}{{/if}}</p>',
      emailAttachments: [{ file: 'terms.txt' }],
      smsMessage: 'Hello, {{user.name}}! Your appointment is dated {{data.appointmentDate}}',
      voiceMessage: 'Hello {{user.name}}',
      pushTitle: 'Reminder',
      pushSubtitle: '{{data.appointmentDate}}',
      pushMessage: 'See you {{data.appointmentDate}}',
      pushData: { android: { priority: 'high' }, apns: { headers: { 'apns-priority': '10' } }, screen: 'agenda' },
    });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });

  const send = (payload: object, headers: Record<string, string> = {}) =>
    stack.app.inject({ method: 'POST', url: '/send', payload, headers });

  it('sends a template over four channels to a cluster, each user once, and answers with no failures', async () => {
    const [mario] = await insertUsers(stack, [
      person('Mario', { clusters: ['clinic-a'] }),
      person('Luigi', { clusters: ['clinic-a', 'clinic-b'] }),
    ]);
    const response = await send({
      channels: ['email', 'sms', 'push', 'voice'],
      clusters: ['clinic-a', 'clinic-b'],
      recipients: [mario],
      templateId: templateId.toHexString(),
      data: { appointmentDate: '01/01/2021', type: 'patients', firstName: 'Mario' },
      emailAttachments: ['welcome.pdf'],
      emailCarbonCopies: ['boss@example.com', 'not an address'],
      emailBlindCarbonCopies: ['audit@example.com'],
      emailSender: 'clinic@example.com',
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ failures: [], recipients: 2, sendId: expect.stringMatching(/^send-/) });
    expect(body.workflowId).toBe(body.sendId);

    const messages = await simMessages(stack);
    expect(messages.filter((m) => m.channel === 'email')).toHaveLength(2);
    expect(messages.filter((m) => m.channel === 'sms')).toHaveLength(2);
    expect(messages.filter((m) => m.channel === 'push')).toHaveLength(2);
    expect(messages.filter((m) => m.channel === 'voice')).toHaveLength(2);

    const email = messages.find((m) => m.channel === 'email' && m.to === 'mario@example.com')!;
    expect(email.subject).toBe('Appointment for Mario');
    expect(email.html).toContain('<p>Hello, Mario! Mario</p>');
    expect(email.from).toContain('clinic@example.com');
    expect(email.cc).toEqual(['boss@example.com']);
    expect(email.bcc).toEqual(['audit@example.com']);
    expect(email.attachments!.map((a) => a.filename).sort()).toEqual(['terms.txt', 'welcome.pdf']);
    expect(email.attachments!.every((a) => a.size > 0)).toBe(true);

    const sms = messages.find((m) => m.channel === 'sms' && m.body?.includes('Luigi'))!;
    expect(sms.body).toBe('Hello, Luigi! Your appointment is dated 01/01/2021');
    expect(sms.provider).toBe('twilio');

    const push = messages.find((m) => m.channel === 'push' && m.to === 'token-mario')!;
    expect(push).toMatchObject({ title: 'Reminder', body: 'See you 01/01/2021', subtitle: '01/01/2021' });
    expect(push.raw).toMatchObject({
      android: { priority: 'high', notification: { click_action: 'OPEN_ACTIVITY' } },
      apns: { headers: { 'apns-priority': '10' } },
      data: { screen: 'agenda', subtitle: '01/01/2021' },
    });
    const voice = messages.find((m) => m.channel === 'voice' && m.body === 'Hello Mario')!;
    expect(voice.provider).toBe('kaleyra');

    const deliveries = await stack.database.deliveries.find({ sendId: body.sendId }).toArray();
    expect(deliveries).toHaveLength(8);
    expect(deliveries.every((d) => d.status === 'sent' && d.attempts === 1 && d.providerMessageId)).toBe(true);
  });

  it('skips users without the channel field and reports unknown recipients as USER_NOT_FOUND', async () => {
    const [withPhone, withoutPhone] = await insertUsers(stack, [
      person('Anna'),
      { name: 'Nophone', emailAddress: 'nophone@example.com' },
    ]);
    const missing = new ObjectId().toHexString();
    const response = await send({
      channels: ['sms', 'email'],
      recipients: [withPhone, withoutPhone, missing, withPhone],
      messageTitle: 'Hi',
      messageContent: 'Hello {{user.name}}',
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.recipients).toBe(2);
    expect(body.failures).toEqual(
      expect.arrayContaining([
        { userId: missing, channel: 'sms', error: expect.any(String), code: 'USER_NOT_FOUND' },
        { userId: missing, channel: 'email', error: expect.any(String), code: 'USER_NOT_FOUND' },
      ]),
    );
    expect(body.failures).toHaveLength(2);
    const skipped = await stack.database.deliveries.findOne({
      sendId: body.sendId,
      userId: withoutPhone,
      channel: 'sms',
    });
    expect(skipped).toMatchObject({ status: 'skipped', code: 'NO_ADDRESS' });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(1);
    expect(await simMessages(stack, 'channel=email')).toHaveLength(2);
  });

  it('matches string ids and 24-hex ids stored as strings', async () => {
    const hexAsString = new ObjectId().toHexString();
    await stack.database.users.insertMany([
      { _id: 'user-plain' as never, ...person('Plain') },
      { _id: hexAsString as never, ...person('Hexy') },
    ]);
    const response = await send({
      channels: ['sms'],
      recipients: ['user-plain', hexAsString],
      messageTitle: 'T',
      messageContent: 'Hi {{user.name}}',
    });
    expect(response.json()).toMatchObject({ failures: [], recipients: 2 });
    expect((await simMessages(stack, 'channel=sms')).map((m) => m.body).sort()).toEqual(['Hi Hexy', 'Hi Plain']);
  });

  it('reports a permanent provider refusal at once, without retrying it', async () => {
    const [user] = await insertUsers(stack, [person('Rejected', { phoneNumber: '+15550000001' })]);
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550000001'] });
    const response = await send({ channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent: 'C' });
    expect(response.json().failures).toEqual([
      { userId: user, channel: 'sms', error: expect.stringContaining('twilio answered 400'), code: 'TWILIO_21211' },
    ]);
    const delivery = await stack.database.deliveries.findOne({ sendId: response.json().sendId });
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, permanent: true });
    const stats = await stack.sim<{ requests: Record<string, number> }>('GET', '/stats');
    expect(stats.requests.twilio).toBe(1);
  });

  it('retries transient provider errors with backoff and delivers once', async () => {
    const [user] = await insertUsers(stack, [person('Flaky')]);
    await stack.sim('POST', '/faults', { target: 'sms', failNext: 2, status: 503 });
    const response = await send({ channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent: 'C' });
    expect(response.json()).toMatchObject({ failures: [] });
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(1);
    const delivery = await stack.database.deliveries.findOne({ sendId: response.json().sendId });
    expect(delivery).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('gives up after maximumAttempts and reports the transient code', async () => {
    const [user] = await insertUsers(stack, [person('Down')]);
    await stack.sim('POST', '/faults', { target: 'email', failForMs: 60000 });
    const response = await send({ channels: ['email'], recipients: [user], messageTitle: 'T', messageContent: 'C' });
    expect(response.json().failures).toEqual([
      { userId: user, channel: 'email', error: expect.any(String), code: 'SMTP_451' },
    ]);
    const delivery = await stack.database.deliveries.findOne({ sendId: response.json().sendId });
    expect(delivery).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('answers 202 at once with Prefer: respond-async, and the status URL shows the result', async () => {
    const [user] = await insertUsers(stack, [person('Async')]);
    const response = await send(
      { channels: ['push'], recipients: [user], messageTitle: 'T', messageContent: 'C' },
      { prefer: 'respond-async' },
    );
    expect(response.statusCode).toBe(202);
    const accepted = response.json();
    expect(accepted).toMatchObject({ status: 'running', statusUrl: `/sends/${accepted.sendId}` });
    const status = await waitFor(async () => {
      const current = (await stack.app.inject({ method: 'GET', url: accepted.statusUrl })).json();
      return current.status === 'completed' ? current : undefined;
    });
    expect(status).toMatchObject({
      counts: { push: { sent: 1 } },
      workflowId: accepted.workflowId,
      temporalUiUrl: expect.stringContaining(accepted.workflowId),
    });
  });

  // Found by fuzzing (test/api/fuzz.test.ts): the memo over 2 MB failed the start with a 500, the send stored.
  it('accepts cluster names of any length; the workflow memo counts them and names none', async () => {
    const clusters = ['a', 'b', 'c'].map((letter) => letter.repeat(1_000_000));
    const response = await send(
      { channels: ['sms'], clusters, messageTitle: 'T', messageContent: 'C' },
      { prefer: 'respond-async' },
    );
    expect(response.statusCode).toBe(202);
    const { memo } = await stack.temporal.workflow.getHandle(response.json().workflowId).describe();
    expect(memo?.clusters).toBe(3);
  });

  it('never sends twice for the same Idempotency-Key', async () => {
    const [user] = await insertUsers(stack, [person('Once')]);
    const payload = { channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent: 'Once' };
    const first = await send(payload, { 'idempotency-key': `key-${user}` });
    const second = await send(payload, { 'idempotency-key': `key-${user}` });
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.json().sendId).toBe(first.json().sendId);
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(1);
  });

  it('answers concurrent identical Idempotency-Key requests with the same send, and sends once', async () => {
    // On FerretDB an upsert is not atomic: of requests this close together, some met a duplicate key (a 500).
    const users = await insertUsers(
      stack,
      Array.from({ length: 5 }, (_, index) => person(`Together${index}`)),
    );
    for (const user of users) {
      const payload = { channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent: `To ${user}` };
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          send(payload, { 'idempotency-key': `together-${user}`, prefer: 'respond-async' }),
        ),
      );
      expect(answers.map((answer) => answer.statusCode)).toEqual(Array.from({ length: 10 }, () => 202));
      expect(new Set(answers.map((answer) => answer.json().sendId)).size).toBe(1);
    }
    await waitFor(async () => (await simMessages(stack, 'channel=sms')).length >= users.length);
    const bodies = (await simMessages(stack, 'channel=sms')).map((message) => message.body);
    expect(bodies.sort()).toEqual(users.map((user) => `To ${user}`).sort());
  });

  it('answers 422 naming an Idempotency-Key reused for a different body; the same body in another order is the same send', async () => {
    const [user] = await insertUsers(stack, [person('Twice')]);
    const key = `key-${user}`;
    const payload = { channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent: 'First' };
    const first = await send(payload, { 'idempotency-key': key });
    expect(first.statusCode).toBe(200);

    const reordered = { messageContent: 'First', messageTitle: 'T', recipients: [user, user], channels: ['sms'] };
    const same = await send(reordered, { 'idempotency-key': key });
    expect(same.statusCode).toBe(200);
    expect(same.json().sendId).toBe(first.json().sendId);

    const other = await send({ ...payload, messageContent: 'Second' }, { 'idempotency-key': key });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: `Idempotency-Key: ${key} was used for a different request`,
    });
    expect((await simMessages(stack, 'channel=sms')).map((message) => message.body)).toEqual(['First']);
  });
});

describe('configuration-driven sends', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      service: {
        activeChannels: ['email', 'sms', 'voice'],
        userFields: { emailAddress: 'mail', phoneNumber: 'mobile', clusters: 'groups' },
        providers: { sms: 'kaleyra', voice: 'twilio' },
        sender: { email: 'from@example.com', sms: 'CLINIC', voice: '+15551112222' },
      },
    });
  });
  afterAll(() => stack.close());

  it('reads renamed user fields and uses the configured providers', async () => {
    await stack.database.users.insertOne({
      name: 'Renamed',
      mail: 'renamed@example.com',
      mobile: '+393330000000',
      groups: ['g1'],
    });
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: {
        channels: ['email', 'sms', 'voice'],
        clusters: ['g1'],
        messageTitle: 'T',
        messageContent: 'Ciao {{user.name}} & co',
      },
    });
    expect(response.json()).toMatchObject({ failures: [], recipients: 1 });
    const messages = await simMessages(stack);
    expect(messages.find((m) => m.channel === 'sms')).toMatchObject({
      provider: 'kaleyra',
      to: '+393330000000',
      body: 'Ciao Renamed & co',
    });
    expect(messages.find((m) => m.channel === 'voice')).toMatchObject({
      provider: 'twilio',
      body: 'Ciao Renamed & co',
    });
    expect(messages.find((m) => m.channel === 'email')).toMatchObject({
      to: 'renamed@example.com',
      html: expect.stringContaining('Ciao Renamed &amp; co'),
    });
  });
});
