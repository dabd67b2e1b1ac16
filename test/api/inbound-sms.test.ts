import { webhookToken } from '../../common/http/webhook-urls';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * Twilio's inbound SMS webhook on the real API and store: Twilio posts an HTML form (`From`, `Body`, …) to the URL
 * with the token this service issued; a STOP reply suppresses the number for sms, a START takes back only that.
 */
describe('POST /webhooks/twilio/inbound', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { WEBHOOK_SECRET: 'inbound-sms-secret-0123456789abc' } });
  });
  afterAll(() => stack?.close());

  const path = '/webhooks/twilio/inbound';
  const inbound = (from: string, body: string, token = webhookToken(stack.config.env, path)) =>
    stack.app.inject({
      method: 'POST',
      url: `${path}?token=${token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        MessageSid: 'SM1',
        AccountSid: 'AC1',
        From: from,
        To: '+15005550006',
        Body: body,
      }).toString(),
    });
  const entry = (number: string) => stack.database.suppressions.findOne({ _id: `sms|${number}` as never });

  it('suppresses the sender of a STOP reply for sms, and a START takes it back', async () => {
    expect((await inbound('+39 333 100 2000', ' Unsubscribe. ')).statusCode).toBe(204);
    expect(await entry('+393331002000')).toMatchObject({ channel: 'sms', source: 'inbound-stop' });
    expect((await inbound('+393331002000', 'please stop by later')).statusCode).toBe(204);
    expect((await inbound('+393331002001', 'please stop by later')).statusCode).toBe(204);
    expect(await entry('+393331002001')).toBeNull();

    expect((await inbound('+393331002000', 'start')).statusCode).toBe(204);
    expect(await entry('+393331002000')).toBeNull();
  });

  it('keeps an entry that an admin made when the number replies START', async () => {
    await stack.app.inject({
      method: 'POST',
      url: '/suppressions',
      payload: { channel: 'sms', address: '+393331002002', reason: 'asked by phone' },
    });
    await inbound('+393331002002', 'STOP');
    await inbound('+393331002002', 'UNSTOP');
    expect(await entry('+393331002002')).toMatchObject({ source: 'api' });
  });

  it('refuses a call without the issued token, and suppresses nothing', async () => {
    const forged = await inbound('+393331002003', 'STOP', '0'.repeat(32));
    expect(forged.statusCode).toBe(401);
    expect(await entry('+393331002003')).toBeNull();
  });
});
