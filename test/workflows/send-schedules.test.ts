import { randomUUID } from 'node:crypto';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

interface FiredSend {
  sendId: string;
  firingTime: string;
  status: string;
  statusUrl: string;
}
interface ScheduleDetail {
  scheduleId: string;
  paused: boolean;
  nextFirings: string[];
  fired: number;
  catchupWindowSeconds: number;
  lastSends: FiredSend[];
}

/** Recurring sends (`/schedules`) on the real dev server, with seconds-long times. */
describe('recurring sends on Temporal Schedules', () => {
  let stack: TestStack;
  let phone: string;
  let userId: string;

  beforeAll(async () => {
    stack = await startTestStack();
    const user = person('Recurring');
    phone = user.phoneNumber;
    [userId] = await insertUsers(stack, [user]);
    const template = {
      name: 'daily digest sms',
      mode: 'sms',
      data: { body: 'Today: {{count}} orders' },
      isActive: true,
    };
    expect((await inject('POST', '/templates', template)).statusCode).toBe(201);
  });
  afterAll(() => stack.close());

  const send = () => ({
    channels: ['sms'],
    recipients: [userId],
    messageTitle: 'Daily',
    messageContent: 'Hi {{user.name}}',
  });
  const inject = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const detail = async (scheduleId: string) => (await inject('GET', `/schedules/${scheduleId}`)).json<ScheduleDetail>();
  const smsToUser = async () => (await simMessages(stack, 'channel=sms')).filter((message) => message.to === phone);

  it('fires every 2 s, each firing a send of its own listed with its status URL; pause stops it, delete removes it', async () => {
    const scheduleId = `every-${randomUUID()}`;
    const created = await inject('POST', '/schedules', { scheduleId, spec: { every: 'PT2S' }, send: send() });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe(`/schedules/${scheduleId}`);
    const body = created.json<ScheduleDetail>();
    expect(body.catchupWindowSeconds).toBe(60);
    expect(body.nextFirings).toHaveLength(5);
    const gaps = body.nextFirings.slice(1).map((time, index) => Date.parse(time) - Date.parse(body.nextFirings[index]));
    expect(gaps).toEqual([2000, 2000, 2000, 2000]);

    const fired = await waitFor(async () => {
      const { lastSends } = await detail(scheduleId);
      return lastSends.length >= 2 && lastSends.slice(0, 2).every((sent) => sent.status === 'completed') && lastSends;
    });
    const [first, second] = fired;
    expect(first.sendId).not.toBe(second.sendId);
    for (const sent of [first, second]) {
      // The firing's id is the schedule's with its firing time: a firing is started once.
      expect(sent.sendId).toBe(`sched-${scheduleId}-${sent.firingTime.replace(/\.000Z$/, 'Z')}`);
      const status = await inject('GET', sent.statusUrl);
      expect(status.statusCode).toBe(200);
      expect(status.json()).toMatchObject({ sendId: sent.sendId, status: 'completed', channels: ['sms'] });
    }
    expect((await smsToUser()).length).toBeGreaterThanOrEqual(2);

    const listed = await inject('GET', '/schedules?limit=100');
    expect(listed.json<{ scheduleId: string }[]>().map((schedule) => schedule.scheduleId)).toContain(scheduleId);

    const paused = await inject('POST', `/schedules/${scheduleId}/pause`);
    expect(paused.json()).toMatchObject({ paused: true });
    // A firing taken as the pause arrived may still start; after that, none.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const firedWhilePaused = (await detail(scheduleId)).fired;
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect((await detail(scheduleId)).fired).toBe(firedWhilePaused);

    expect((await inject('DELETE', `/schedules/${scheduleId}`)).statusCode).toBe(204);
    expect((await inject('GET', `/schedules/${scheduleId}`)).statusCode).toBe(404);
    expect((await inject('DELETE', `/schedules/${scheduleId}`)).statusCode).toBe(404);
    expect(
      (await stack.temporal.schedule
        .getHandle(scheduleId)
        .describe()
        .catch(() => null)) === null,
    ).toBe(true);
  }, 60_000);

  it('fires a /messages request every 2 s, each firing an ordinary request of its own listed with its status URL', async () => {
    // The longest schedule id: its firings' request ids are the longest (127 characters) GET /messages/:id must take.
    const scheduleId = `messages-${randomUUID()}`.padEnd(100, 'x');
    const to = '+15550009911';
    const number = to.slice(2);
    const created = await inject('POST', '/schedules', {
      scheduleId,
      spec: { every: 'PT2S' },
      messages: messagesBody(number),
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ scheduleId, makes: 'messages', channels: ['sms'], templateId: null });

    const fired = await waitFor(async () => {
      const { lastSends } = await detail(scheduleId);
      return lastSends.length >= 2 && lastSends.slice(0, 2).every((sent) => sent.status === 'completed') && lastSends;
    });
    const [first, second] = fired as unknown as (Omit<FiredSend, 'sendId'> & { requestId: string })[];
    expect(first.requestId).not.toBe(second.requestId);
    for (const sent of [first, second]) {
      // The request id is the schedule's with its firing time: a firing is started once.
      expect(sent.requestId).toBe(`sched-${scheduleId}-${sent.firingTime.replace(/\.000Z$/, 'Z')}`);
      expect(sent.statusUrl).toBe(`/messages/${encodeURIComponent(sent.requestId)}`);
      const status = await inject('GET', sent.statusUrl);
      expect(status.statusCode).toBe(200);
      expect(status.json()).toMatchObject({
        requestId: sent.requestId,
        status: 'completed',
        messages: [
          { messageId: `${sent.requestId}-1`, channel: 'sms', addresses: [{ to, status: expect.any(String) }] },
        ],
      });
    }
    // Each firing is listed among the /messages requests, as a request posted would be.
    const listed = (await inject('GET', '/messages?limit=100')).json<{ requestId: string }[]>();
    expect(listed.map((request) => request.requestId)).toEqual(
      expect.arrayContaining([first.requestId, second.requestId]),
    );
    const texts = (await simMessages(stack, 'channel=sms')).filter((message) => message.to === to);
    expect(texts.length).toBeGreaterThanOrEqual(2);
    expect(texts[0]).toMatchObject({ body: 'Today: 3 orders' });

    // It keeps making requests: a PATCH may change them, not turn them into a send.
    const patched = await inject('PATCH', `/schedules/${scheduleId}`, { messages: messagesBody('5550009912') });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ makes: 'messages', channels: ['sms'] });
    const turned = await inject('PATCH', `/schedules/${scheduleId}`, { send: send() });
    expect(turned.statusCode).toBe(400);
    expect(turned.json().message).toMatch(/^send: schedule .* makes \/messages requests/);

    expect((await inject('DELETE', `/schedules/${scheduleId}`)).statusCode).toBe(204);
  }, 60_000);

  it('fires on trigger while paused, and a PATCH changes the times while it stays paused', async () => {
    const scheduleId = `yearly-${randomUUID()}`;
    const created = await inject('POST', '/schedules', {
      scheduleId,
      spec: { cron: '0 9 1 1 *' },
      timezone: 'Europe/Rome',
      send: send(),
    });
    expect(created.statusCode).toBe(201);
    expect(created.json<ScheduleDetail>().nextFirings[0]).toMatch(/-01-01T08:00:00\.000Z$/);
    // Paused, it still fires on trigger.
    expect((await inject('POST', `/schedules/${scheduleId}/pause`)).json()).toMatchObject({ paused: true });
    expect((await inject('POST', `/schedules/${scheduleId}/trigger`)).statusCode).toBe(202);
    const [triggered] = await waitFor(async () => {
      const { lastSends } = await detail(scheduleId);
      return lastSends.length === 1 && lastSends[0].status === 'completed' && lastSends;
    });
    expect((await inject('GET', triggered.statusUrl)).json()).toMatchObject({ status: 'completed' });

    const patched = await inject('PATCH', `/schedules/${scheduleId}`, {
      spec: { calendar: [{ hour: 7, minute: 15, dayOfWeek: [1, 2, 3, 4, 5] }] },
    });
    expect(patched.statusCode).toBe(200);
    const changed = patched.json<ScheduleDetail & { timezone: string }>();
    expect(changed).toMatchObject({ paused: true, timezone: 'Europe/Rome' });
    for (const time of changed.nextFirings) {
      const local = new Date(time).toLocaleString('en-GB', {
        timeZone: 'Europe/Rome',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      });
      expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 07:15$/);
    }
    expect((await inject('POST', `/schedules/${scheduleId}/unpause`)).json()).toMatchObject({ paused: false });
    expect((await inject('DELETE', `/schedules/${scheduleId}`)).statusCode).toBe(204);
  }, 60_000);

  it('skips a 02:30 firing on the spring-forward day, when 02:30 does not exist there', async () => {
    const scheduleId = `dst-${randomUUID()}`;
    // 11 March 2040 (far ahead, so that the firings shown start at startAt for years): New York's clocks go from 02:00
    // to 03:00.
    const created = await inject('POST', '/schedules', {
      scheduleId,
      spec: { calendar: [{ hour: 2, minute: 30 }], startAt: '2040-03-09T00:00:00-05:00' },
      timezone: 'America/New_York',
      send: send(),
    });
    expect(created.statusCode).toBe(201);
    expect(created.json<ScheduleDetail>().nextFirings).toEqual([
      '2040-03-09T07:30:00.000Z',
      '2040-03-10T07:30:00.000Z',
      '2040-03-12T06:30:00.000Z',
      '2040-03-13T06:30:00.000Z',
      '2040-03-14T06:30:00.000Z',
    ]);
    await inject('DELETE', `/schedules/${scheduleId}`);
  });

  it('fires a 01:30 firing twice on the fall-back day, when 01:30 comes twice', async () => {
    const scheduleId = `dst-fall-${randomUUID()}`;
    // 4 November 2040: New York's clocks go from 02:00 back to 01:00.
    const created = await inject('POST', '/schedules', {
      scheduleId,
      spec: { calendar: [{ hour: 1, minute: 30 }], startAt: '2040-11-03T00:00:00-04:00' },
      timezone: 'America/New_York',
      send: send(),
    });
    expect(created.json<ScheduleDetail>().nextFirings).toEqual([
      '2040-11-03T05:30:00.000Z',
      '2040-11-04T05:30:00.000Z',
      '2040-11-04T06:30:00.000Z',
      '2040-11-05T06:30:00.000Z',
      '2040-11-06T06:30:00.000Z',
    ]);
    await inject('DELETE', `/schedules/${scheduleId}`);
  });

  it.each([
    ['an unknown time zone', { spec: { every: 'PT1H' }, timezone: 'Mars/Olympus' }, /^timezone: /],
    ['a cron of four fields', { spec: { cron: '0 9 * *' } }, /^spec\.cron: needs five fields/],
    ['a cron minute out of range', { spec: { cron: '61 9 * * *' } }, /^spec\.cron: minute/],
    ['a duration in months', { spec: { every: 'P1M' } }, /^spec\.every: /],
    ['a duration under a second', { spec: { every: 'PT0S' } }, /^spec\.every: /],
    ['both cron and every', { spec: { cron: '0 9 * * *', every: 'PT1H' } }, /^spec: exactly one/],
    ['an hour of 24', { spec: { calendar: [{ hour: 24, minute: 0 }] } }, /^spec\.calendar\.0\.hour/],
    [
      'an end before the start',
      { spec: { every: 'PT1H', startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' } },
      /^spec\.endAt: /,
    ],
    [
      'an inactive channel name',
      { spec: { every: 'PT1H' }, send: { ...sendBody(), channels: ['fax'] } },
      /^send\.channels/,
    ],
    ['a send to nobody', { spec: { every: 'PT1H' }, send: { ...sendBody(), recipients: [] } }, /^send\.recipients: /],
    ['a bad scheduleId', { scheduleId: 'a/b', spec: { every: 'PT1H' } }, /^scheduleId: /],
    [
      'a phone number of the messages that cannot be one',
      { spec: { every: 'PT1H' }, send: undefined, messages: messagesBody('123') },
      /^messages\.sms\[0\]\.to\[0\]: /,
    ],
    [
      'messages naming a template that does not exist',
      {
        spec: { every: 'PT1H' },
        send: undefined,
        messages: { sms: [{ template: 'nope', to: [{ countryCode: '1', number: '5550009911' }] }] },
      },
      /^messages\.sms\[0\]\.template: /,
      404,
    ],
    [
      'messages without message objects',
      { spec: { every: 'PT1H' }, send: undefined, messages: {} },
      /^messages\.sms, email, whatsapp: /,
    ],
    [
      "a one-off request's sendAt in the firings' messages",
      { spec: { every: 'PT1H' }, send: undefined, messages: { ...messagesBody('5550009911'), delay: 'PT1M' } },
      /delay/,
    ],
    [
      'both send and messages',
      { spec: { every: 'PT1H' }, messages: messagesBody('5550009911') },
      /^messages: give send or messages, not both/,
    ],
    ['neither send nor messages', { spec: { every: 'PT1H' }, send: undefined }, /^send: give send/],
    [
      "a one-off send's sendAt in the firings' send",
      { spec: { every: 'PT1H' }, send: { ...sendBody(), sendAt: '2040-01-01T00:00:00Z' } },
      /sendAt/,
    ],
  ])('refuses %s with a 4xx naming the field, and creates nothing', async (_case, fields, message, status = 400) => {
    const scheduleId = `bad-${randomUUID()}`;
    const response = await inject('POST', '/schedules', { scheduleId, send: send(), ...fields });
    expect(response.statusCode).toBe(status);
    expect(response.json().message).toMatch(message);
    expect((await inject('GET', `/schedules/${scheduleId}`)).statusCode).toBe(404);
    expect(
      (await stack.temporal.schedule
        .getHandle(scheduleId)
        .describe()
        .catch(() => null)) === null,
    ).toBe(true);
  });

  it('answers 409 to a taken scheduleId and 404 to an unknown one', async () => {
    const scheduleId = `taken-${randomUUID()}`;
    const body = { scheduleId, spec: { every: 'PT1H' }, send: send() };
    expect((await inject('POST', '/schedules', body)).statusCode).toBe(201);
    const again = await inject('POST', '/schedules', body);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/^scheduleId: /);
    await inject('DELETE', `/schedules/${scheduleId}`);

    const unknown = `unknown-${randomUUID()}`;
    for (const [method, url] of [
      ['GET', `/schedules/${unknown}`],
      ['PATCH', `/schedules/${unknown}`],
      ['POST', `/schedules/${unknown}/pause`],
      ['POST', `/schedules/${unknown}/unpause`],
      ['POST', `/schedules/${unknown}/trigger`],
      ['DELETE', `/schedules/${unknown}`],
    ] as const) {
      const response = await inject(method, url, method === 'PATCH' ? { timezone: 'UTC' } : undefined);
      expect([method, url, response.statusCode]).toEqual([method, url, 404]);
    }
  });
});

/** A `/messages` body: one text to `to` by the stack's sms template. */
function messagesBody(number: string) {
  return { sms: [{ template: 'daily digest sms', data: { count: 3 }, to: [{ countryCode: '1', number }] }] };
}

/** A `/send` body before the stack's user exists (the cases of `it.each` are built before `beforeAll` runs). */
function sendBody() {
  return { channels: ['sms'], recipients: ['5f1e0c1a2b3c4d5e6f708192'], messageTitle: 'Daily', messageContent: 'Hi' };
}
