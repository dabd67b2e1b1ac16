import { ObjectId } from 'mongodb';
import { digestId } from '../../common/temporal/workflow-ids';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { sleep } from '../support/http-sends';
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

  const inject = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: object) =>
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
    (await inject('GET', `/sends/${sendId}/deliveries?limit=1000`)).json<{ deliveries: Record<string, unknown>[] }>()
      .deliveries;
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

  /** A send answered at once (202): a deferring one waits for its users' quiet hours to end. */
  const sendAsync = async (payload: object) => {
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      headers: { prefer: 'respond-async' },
      payload: { messageTitle: 'Hi', messageContent: 'Hi {{user.name}}', ...payload },
    });
    expect(response.statusCode).toBe(202);
    return response.json<{ sendId: string }>().sendId;
  };
  const getSend = async (sendId: string) => (await inject('GET', `/sends/${sendId}`)).json();
  /** The send once its workflow has ended (a cancelled one reads `cancelled` before that). */
  const ended = async (sendId: string) => {
    await stack.temporal.workflow.getHandle(sendId).result();
    return getSend(sendId);
  };
  const wallClock = (at: number, timeZone: string) =>
    new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
  /**
   * Quiet hours that hold now and end at the next whole minute, read in `timeZones` (whole-minute offsets): from the
   * minute before to that boundary. With fewer than `leastMs` to the boundary, the next minute's window is taken.
   */
  const quietUntilNextMinute = async (leastMs = 5_000) => {
    if (60_000 - (Date.now() % 60_000) < leastMs) await sleep(60_000 - (Date.now() % 60_000) + 50);
    const endsAt = Math.ceil(Date.now() / 60_000) * 60_000;
    const window = (timeZone: string) => ({
      start: wallClock(endsAt - 120_000, timeZone),
      end: wallClock(endsAt, timeZone),
    });
    return { endsAt, window };
  };
  const setQuietHours = async (userId: string, quietHours: object) => {
    expect((await inject('PUT', `/users/${userId}/preferences`, { quietHours })).statusCode).toBe(200);
  };
  const smsTo = async (...userIds: string[]) => {
    const users = await stack.database.users.find({}).toArray();
    const phones = new Set(users.filter((user) => userIds.includes(String(user._id))).map((user) => user.phoneNumber));
    return (await simMessages(stack, 'channel=sms')).filter((message) => phones.has(message.to));
  };
  const deferredIn = (sendId: string, count: number, timeoutMs?: number) =>
    waitFor(async () => {
      const entries = await ledger(sendId);
      return entries.filter((entry) => entry.status === 'deferred').length === count && entries;
    }, timeoutMs);

  it('defers the deliveries of users inside their quiet hours until the window ends in their time zone, then sends them; others go now', async () => {
    const [quiet, quietInKolkata, outside] = await insertUsers(stack, [
      person('Quiet'),
      person('Kolkata', { tz: 'Asia/Kolkata' }),
      person('Outside', { tz: 'Asia/Tokyo' }),
    ]);
    const { endsAt, window } = await quietUntilNextMinute();
    await setQuietHours(quiet, window('UTC'));
    await setQuietHours(quietInKolkata, window('Asia/Kolkata'));
    // The UTC window read in Tokyo's wall clock: nine hours away.
    await setQuietHours(outside, window('UTC'));
    const sendId = await sendAsync({ channels: ['sms'], recipients: [quiet, quietInKolkata, outside] });

    const entries = await deferredIn(sendId, 2);
    const releaseAt = new Date(endsAt).toISOString();
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: quiet, status: 'deferred', code: 'QUIET_HOURS', releaseAt }),
        expect.objectContaining({ userId: quietInKolkata, status: 'deferred', code: 'QUIET_HOURS', releaseAt }),
      ]),
    );
    await waitFor(async () => (await smsTo(outside)).length === 1);
    const waiting = await getSend(sendId);
    expect(waiting).toMatchObject({
      status: 'running',
      nextReleaseAt: releaseAt,
      counts: { sms: { sent: 1, deferred: 2 } },
    });
    expect(await smsTo(quiet, quietInKolkata)).toHaveLength(0);

    const done = await ended(sendId);
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt);
    expect(done).toMatchObject({ status: 'completed', nextReleaseAt: null, counts: { sms: { sent: 3 } } });
    expect((await ledger(sendId)).map((entry) => entry.status)).toEqual(['sent', 'sent', 'sent']);
    expect(await smsTo(quiet, quietInKolkata, outside)).toHaveLength(3);
  }, 120_000);

  it('a cancel while deliveries are deferred wakes the send and records them cancelled; nothing is sent', async () => {
    const [quiet] = await insertUsers(stack, [person('Cancelled')]);
    // Time enough to cancel before the window ends.
    const { endsAt, window } = await quietUntilNextMinute(20_000);
    await setQuietHours(quiet, window('UTC'));
    const sendId = await sendAsync({ channels: ['sms', 'email'], recipients: [quiet] });
    await deferredIn(sendId, 2);

    const cancelled = await inject('DELETE', `/sends/${sendId}`);
    expect(cancelled.statusCode).toBe(200);
    const done = await ended(sendId);
    // Woken by the cancel, not by the end of the window.
    expect(Date.now()).toBeLessThan(endsAt);
    expect(done).toMatchObject({ status: 'cancelled', counts: { sms: { cancelled: 1 }, email: { cancelled: 1 } } });
    expect((await ledger(sendId)).map((entry) => entry.status)).toEqual(['cancelled', 'cancelled']);
    await sleep(Math.max(0, endsAt - Date.now()) + 2000);
    expect(await simMessages(stack)).toHaveLength(0);
  }, 120_000);

  it('deliveries deferred while the worker is down go once, when the window ends', async () => {
    const [quiet, other] = await insertUsers(stack, [person('Restart'), person('Restart2')]);
    const { endsAt, window } = await quietUntilNextMinute();
    await setQuietHours(quiet, window('UTC'));
    await setQuietHours(other, window('UTC'));
    const sendId = await sendAsync({ channels: ['sms'], recipients: [quiet, other] });
    await deferredIn(sendId, 2);
    await waitFor(async () => {
      const history = await stack.temporal.workflow.getHandle(sendId).fetchHistory();
      return history.events?.some((event) => event.timerStartedEventAttributes);
    });
    await stack.stopWorker();
    try {
      await sleep(Math.max(0, endsAt - Date.now()) + 1000);
      expect(await smsTo(quiet, other)).toHaveLength(0);
    } finally {
      await stack.startWorker();
    }
    expect(await ended(sendId)).toMatchObject({ status: 'completed', counts: { sms: { sent: 2 } } });
    await sleep(1000);
    expect(await smsTo(quiet, other)).toHaveLength(2);
  }, 120_000);

  it('releases many deferred deliveries in pages and batches, continuing as new while it releases', async () => {
    // 120 users: three audience pages of the test's fan-out (pages of 50, three per run), three pages of releases.
    const userIds = await insertUsers(
      stack,
      Array.from({ length: 120 }, (_, index) => person(`Many${index}`)),
    );
    // Time enough for every page to be dispatched inside the window.
    const { endsAt, window } = await quietUntilNextMinute(30_000);
    await Promise.all(userIds.map((userId) => setQuietHours(userId, window('UTC'))));
    const sendId = await sendAsync({ channels: ['sms'], recipients: userIds });
    await deferredIn(sendId, 120, 30_000);
    expect((await getSend(sendId)).counts).toEqual({ sms: { deferred: 120 } });

    const done = await ended(sendId);
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt);
    expect(done).toMatchObject({ status: 'completed', counts: { sms: { sent: 120 } } });
    const history = await stack.temporal.workflow.getHandle(sendId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.continuedExecutionRunId).toBeTruthy();
    const sent = await smsTo(...userIds);
    expect(new Set(sent.map((message) => message.to)).size).toBe(120);
    expect(sent).toHaveLength(120);
  }, 180_000);

  it("defers a digest's flush, which is a send, and sends it when the window ends", async () => {
    const templateId = new ObjectId();
    await stack.database.templates.insertOne({
      _id: templateId,
      name: 'quiet digest',
      smsMessage: '{{data.eventCount}} new',
    });
    const [quiet] = await insertUsers(stack, [person('DigestQuiet')]);
    const { endsAt, window } = await quietUntilNextMinute(15_000);
    await setQuietHours(quiet, window('UTC'));
    const posted = await inject('POST', '/events', {
      userId: quiet,
      digestKey: 'quiet',
      channels: ['sms'],
      templateId: templateId.toHexString(),
      data: {},
      digest: { window: 'PT2S' },
    });
    expect(posted.statusCode).toBe(202);
    const flushId = await waitFor(async () => {
      const detail = (await inject('GET', `/digests/${digestId(quiet, 'quiet')}`)).json();
      return detail.flushes?.[0]?.sendId as string | undefined;
    });
    await deferredIn(flushId, 1);
    expect(await smsTo(quiet)).toHaveLength(0);
    expect(await ended(flushId)).toMatchObject({ status: 'completed', counts: { sms: { sent: 1 } } });
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt);
    expect((await smsTo(quiet)).map((message) => message.body)).toEqual(['1 new']);
  }, 120_000);

  it('a critical send inside quiet hours goes now', async () => {
    const [quiet] = await insertUsers(stack, [person('Critical')]);
    await setQuietHours(quiet, quietNowInUtc());
    const sendId = await sendAsync({ channels: ['sms'], recipients: [quiet], critical: true });
    expect(await ended(sendId)).toMatchObject({ status: 'completed', counts: { sms: { sent: 1 } } });
    expect(await ledger(sendId)).toEqual([expect.objectContaining({ status: 'sent', critical: true })]);
  }, 60_000);

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
