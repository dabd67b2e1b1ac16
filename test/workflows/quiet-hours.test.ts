import { insertUsers, person, simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/** Quiet hours on the real stack (docs/preferences.md), read in each user's time zone. */
describe('quiet hours', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ service: { userFields: { timezone: 'tz' } } });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
  });

  const inject = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const send = async (payload: object) => {
    const response = await inject('POST', '/send', {
      messageTitle: 'Hi',
      messageContent: 'Hi {{user.name}}',
      ...payload,
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ sendId: string; failures: unknown[] }>();
  };
  const ledger = async (sendId: string) =>
    (await inject('GET', `/sends/${sendId}/deliveries`)).json<{ deliveries: Record<string, unknown>[] }>().deliveries;
  /** Quiet hours that hold now in UTC: from the minute before to two minutes after. */
  const quietNowInUtc = () => {
    const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
    return { start: hhmm(Date.now() - 60_000), end: hhmm(Date.now() + 120_000) };
  };

  it("skips QUIET_HOURS a send that says quietHours: skip, read in each user's time zone; a critical one goes", async () => {
    const [quiet, elsewhere] = await insertUsers(stack, [person('Quiet'), person('Elsewhere', { tz: 'Asia/Tokyo' })]);
    for (const userId of [quiet, elsewhere]) {
      const response = await inject('PUT', `/users/${userId}/preferences`, { quietHours: quietNowInUtc() });
      expect(response.statusCode).toBe(200);
    }
    const skipping = await send({ channels: ['sms'], recipients: [quiet, elsewhere], quietHours: 'skip' });
    expect(skipping.failures).toEqual([]);
    const entries = await ledger(skipping.sendId);
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: quiet, status: 'skipped', code: 'QUIET_HOURS' }),
        expect.objectContaining({ userId: elsewhere, status: 'sent' }),
      ]),
    );
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(1);
    const summary = (await inject('GET', `/sends/${skipping.sendId}`)).json();
    expect(summary).toMatchObject({ status: 'completed' });

    const critical = await send({ channels: ['sms'], recipients: [quiet], quietHours: 'skip', critical: true });
    expect(await ledger(critical.sendId)).toEqual([expect.objectContaining({ status: 'sent', critical: true })]);
  });

  it('refuses a quietHours on a send other than skip, 400 naming the field', async () => {
    const response = await inject('POST', '/send', {
      channels: ['sms'],
      recipients: ['nobody'],
      messageContent: 'Hi',
      quietHours: 'defer-forever',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('quietHours');
  });
});
