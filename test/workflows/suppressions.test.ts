import { eventually, startCallbackReceiver } from '../support/callback-receiver';
import { insertUsers, person, simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/** The suppression list on the real stack (docs/preferences.md): who must not be contacted is skipped, never tried. */
describe('suppressions', () => {
  let stack: TestStack;
  let secret: string;

  beforeAll(async () => {
    stack = await startTestStack();
    secret = (await stack.app.inject({ method: 'GET', url: '/callbacks/secret' })).json().secret;
    const created = await stack.app.inject({
      method: 'POST',
      url: '/templates',
      payload: { name: 'receipt', mode: 'email', data: { body: 'Receipt', subject: 'Receipt', format: 'text/plain' } },
    });
    expect(created.statusCode).toBe(201);
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });

  const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const send = async (payload: object) => {
    const response = await inject('POST', '/send', { messageTitle: 'Hi', messageContent: 'Hi', ...payload });
    expect(response.statusCode).toBe(200);
    return response.json<{ sendId: string; failures: { code: string }[] }>();
  };
  const ledger = async (sendId: string) =>
    (await inject('GET', `/sends/${sendId}/deliveries`)).json<{ deliveries: Record<string, unknown>[] }>().deliveries;

  it('stores addresses in their normal form, finds and removes them in any form, refuses what is no address', async () => {
    const added = await inject('POST', '/suppressions', {
      channel: 'sms',
      address: '+39 333 123-4567',
      reason: 'asked',
    });
    expect(added.statusCode).toBe(200);
    expect(added.json()).toMatchObject({ channel: 'sms', address: '+393331234567', reason: 'asked', source: 'api' });
    const email = await inject('POST', '/suppressions', { channel: 'email', address: ' Mario@Example.COM' });
    expect(email.json()).toMatchObject({ address: 'mario@example.com', reason: 'added through the API' });

    const found = await inject('GET', `/suppressions?channel=sms&address=${encodeURIComponent('0039 333 1234567')}`);
    expect(found.json()).toEqual([expect.objectContaining({ address: '+393331234567' })]);
    expect((await inject('GET', '/suppressions?channel=whatsapp&address=%2B393331234567')).json()).toEqual([]);

    for (const [body, field] of [
      [{ channel: 'email', address: 'not an address' }, 'address'],
      [{ channel: 'sms', address: 'call me' }, 'address'],
      [{ channel: 'fax', address: '+393331234567' }, 'channel'],
    ] as const) {
      const refused = await inject('POST', '/suppressions', body);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().message).toMatch(new RegExp(`^${field}`));
    }
    expect((await inject('GET', '/suppressions?address=x%40y.z')).statusCode).toBe(400);

    expect((await inject('DELETE', '/suppressions/sms/%2B39%20333%201234567')).statusCode).toBe(204);
    expect((await inject('DELETE', '/suppressions/sms/%2B393331234567')).statusCode).toBe(404);
  });

  it('skips a suppressed recipient of /send with SUPPRESSED, critical sends too, never as a failure', async () => {
    const [suppressed, other] = await insertUsers(stack, [
      person('Bounced', { emailAddress: 'Bounced@Example.com' }),
      person('Fine'),
    ]);
    await inject('POST', '/suppressions', { channel: 'email', address: 'bounced@example.com' });
    for (const critical of [false, true]) {
      await stack.sim('DELETE', '/messages');
      const { sendId, failures } = await send({ channels: ['email'], recipients: [suppressed, other], critical });
      expect(failures).toEqual([]);
      expect((await simMessages(stack, 'channel=email')).map((m) => m.to)).toEqual(['fine@example.com']);
      const entry = (await ledger(sendId)).find((delivery) => delivery.userId === suppressed);
      expect(entry).toMatchObject({ status: 'skipped', code: 'SUPPRESSED', attempts: 0 });
      expect((await inject('GET', `/sends/${sendId}`)).json().counts).toEqual({ email: { sent: 1, skipped: 1 } });
    }
  });

  it('suppresses a number Twilio refuses with 21610, and the next send skips it', async () => {
    const phone = '+15557654321';
    const [userId] = await insertUsers(stack, [person('Stopped', { phoneNumber: phone })]);
    await stack.sim('POST', '/faults', { target: 'sms', unsubscribedAddresses: [phone] });
    const first = await send({ channels: ['sms'], recipients: [userId] });
    expect(first.failures).toEqual([expect.objectContaining({ code: 'TWILIO_21610' })]);
    const listed = await inject('GET', `/suppressions?channel=sms&address=${encodeURIComponent(phone)}`);
    expect(listed.json()).toEqual([
      expect.objectContaining({ address: phone, source: 'provider-opt-out', reason: expect.stringMatching(/21610/) }),
    ]);

    await stack.sim('DELETE', '/faults');
    const second = await send({ channels: ['sms'], recipients: [userId] });
    expect(second.failures).toEqual([]);
    expect(await ledger(second.sendId)).toEqual([expect.objectContaining({ status: 'skipped', code: 'SUPPRESSED' })]);
    expect(await simMessages(stack, 'channel=sms')).toEqual([]);
  });

  it('skips a suppressed address of /messages and reports it skipped with the reason on the callback', async () => {
    await inject('POST', '/suppressions', { channel: 'email', address: 'gone@example.com' });
    const receiver = await startCallbackReceiver(() => secret);
    try {
      const accepted = await inject('POST', '/messages', {
        email: [{ template: 'receipt', to: ['Gone@example.com', 'here@example.com'] }],
        callback: { url: receiver.url },
      });
      expect(accepted.statusCode).toBe(202);
      const seen = () => receiver.received.map(({ body }) => `${String(body.to)}:${String(body.status)}`);
      await eventually(
        seen,
        (statuses) => statuses.includes('Gone@example.com:skipped') && statuses.includes('here@example.com:sent'),
      );
      const skipped = receiver.received.find(({ body }) => body.status === 'skipped')!.body;
      expect(skipped).toMatchObject({ code: 'SUPPRESSED', error: expect.stringMatching(/suppression list/) });
      expect((await simMessages(stack, 'channel=email')).map((m) => m.to)).toEqual(['here@example.com']);
    } finally {
      await receiver.close();
    }
  });
});
