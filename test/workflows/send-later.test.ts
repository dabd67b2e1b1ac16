import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { insertAudience, sleep } from '../support/http-sends';
import { startTestStack, type TestStack } from '../support/test-stack';

interface Scheduled {
  sendId: string;
  status: string;
  sendAt: string;
  statusUrl: string;
}

interface Cancelled {
  sendId: string;
  status: 'cancelled';
  cancelledWhile: 'scheduled' | 'running';
  deliveries: { sentBefore: number; inFlight: number; cancelled: number | null };
}

interface SendDetail {
  status: string;
  sendAt: string | null;
  counts: Record<string, Record<string, number>>;
}

/**
 * Send later and cancel (docs/operating-sends.md "Send later and cancel") on the real dev server: the timers are
 * seconds long, since no time-skipping server runs here.
 */
describe('send later and cancel', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      // Pages and batches large enough for a fan-out of thousands to run in seconds.
      fanOut: { pageSize: 500, chunkSize: 50, perDeliveryLimit: 5, pagesPerRun: 20, heartbeatTimeoutMs: 3000 },
      service: {
        flowManagerConfiguration: {
          successEventLabel: 'notificationSent',
          failEventLabel: 'notificationFailed',
          metadataSchema: {
            channels: 'notification.channels',
            recipients: 'buyer.id',
            messageTitle: 'notification.title',
            messageContent: 'notification.text',
            sendAt: 'notification.sendAt',
          },
        },
      },
    });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });

  const inject = async <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
    const response = await stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
    return { status: response.statusCode, body: response.json<T>() };
  };
  const smsTo = async (phone: string) => (await simMessages(stack, 'channel=sms')).filter((m) => m.to === phone);
  const providerCalls = async () => {
    const { requests } = await stack.sim<{ requests: Record<string, number> }>('GET', '/stats');
    return Object.values(requests).reduce((sum, count) => sum + count, 0);
  };
  const oneSms = (recipient: string, extra: object) => ({
    channels: ['sms'],
    recipients: [recipient],
    messageTitle: 'Reminder',
    messageContent: 'Your appointment is tomorrow',
    ...extra,
  });
  const ended = (sendId: string, timeoutMs = 30_000) =>
    waitFor(async () => {
      const { body } = await inject<SendDetail>('GET', `/sends/${sendId}`);
      return body.status !== 'scheduled' && body.status !== 'running' ? body : undefined;
    }, timeoutMs);
  /** A cancelled send reads `cancelled` at once: its counts are final once its workflow has wound down. */
  const woundDown = async (sendId: string) => {
    await stack.temporal.workflow.getHandle(sendId).result();
    return (await inject<SendDetail>('GET', `/sends/${sendId}`)).body;
  };
  const sentAtOf = async (sendId: string) =>
    (await stack.database.deliveries.find({ sendId }).toArray()).map((entry) => entry.sentAt);

  it('fires a send scheduled 3 s ahead once, at its time, and shows it scheduled while it waits', async () => {
    const [userId] = await insertUsers(stack, [person('Early')]);
    const user = await stack.database.users.findOne({ name: 'Early' });
    const asked = Date.now();
    const { status, body } = await inject<Scheduled>('POST', '/send', oneSms(userId, { delay: 'PT3S' }));
    expect(status).toBe(202);
    expect(body).toMatchObject({ status: 'scheduled', statusUrl: `/sends/${body.sendId}` });
    const sendAt = Date.parse(body.sendAt);
    expect(sendAt).toBeGreaterThanOrEqual(asked + 3000);
    expect(sendAt).toBeLessThan(asked + 5000);

    const waiting = await inject<SendDetail>('GET', `/sends/${body.sendId}`);
    expect(waiting.body).toMatchObject({ status: 'scheduled', sendAt: body.sendAt });
    const listed = await inject<{ sendId: string }[]>('GET', '/sends?status=scheduled');
    expect(listed.body.map((send) => send.sendId)).toContain(body.sendId);
    const description = await stack.temporal.workflow.getHandle(body.sendId).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.searchAttributes.sendStatus).toEqual(['scheduled']);
    expect(description.searchAttributes.scheduledFor).toEqual([new Date(sendAt)]);
    await sleep(1500);
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(0);

    expect((await ended(body.sendId)).status).toBe('completed');
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(1);
    const [sentAt] = await sentAtOf(body.sendId);
    expect(sentAt!.getTime()).toBeGreaterThanOrEqual(sendAt);
    await sleep(1000);
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(1);
  });

  it('lists scheduled sends in sendAt order between after and before', async () => {
    const [userId] = await insertUsers(stack, [person('Lister')]);
    const base = Date.now() + 60 * 60_000;
    const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
    const ids: string[] = [];
    for (const minutes of [30, 10, 20, 90]) {
      const { body } = await inject<Scheduled>('POST', '/send', oneSms(userId, { sendAt: at(minutes) }));
      ids[minutes] = body.sendId;
    }
    const { body } = await inject<{ sendId: string; sendAt: string }[]>(
      'GET',
      `/sends?status=scheduled&after=${encodeURIComponent(at(10))}&before=${encodeURIComponent(at(90))}`,
    );
    expect(body.map((send) => send.sendId)).toEqual([ids[10], ids[20], ids[30]]);
    for (const minutes of [10, 20, 30, 90]) await inject('DELETE', `/sends/${ids[minutes]}`);
  });

  it('fires a rescheduled send at its new time, not its old one, and refuses to move it once it has fired', async () => {
    const [userId] = await insertUsers(stack, [person('Moved')]);
    const user = await stack.database.users.findOne({ name: 'Moved' });
    const { body } = await inject<Scheduled>('POST', '/send', oneSms(userId, { delay: 'PT2S' }));
    const moved = await inject<Scheduled>('PATCH', `/sends/${body.sendId}`, { delay: 'PT6S' });
    expect(moved.status).toBe(200);
    const newSendAt = Date.parse(moved.body.sendAt);
    expect(newSendAt).toBeGreaterThan(Date.parse(body.sendAt) + 3000);
    expect((await inject<SendDetail>('GET', `/sends/${body.sendId}`)).body.sendAt).toBe(moved.body.sendAt);
    // What the Temporal UI shows (docs/operating-sends.md "Send later and cancel"): the update, the old timer cancelled.
    const events = (await stack.temporal.workflow.getHandle(body.sendId).fetchHistory()).events ?? [];
    expect(events.some((event) => event.workflowExecutionUpdateAcceptedEventAttributes)).toBe(true);
    expect(events.filter((event) => event.timerStartedEventAttributes)).toHaveLength(2);
    expect(events.some((event) => event.timerCanceledEventAttributes)).toBe(true);
    const described = await stack.temporal.workflow.getHandle(body.sendId).describe();
    expect(described.searchAttributes.scheduledFor).toEqual([new Date(newSendAt)]);

    await sleep(Date.parse(body.sendAt) - Date.now() + 1500);
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(0);
    expect((await ended(body.sendId)).status).toBe('completed');
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(1);
    const [sentAt] = await sentAtOf(body.sendId);
    expect(sentAt!.getTime()).toBeGreaterThanOrEqual(newSendAt);

    const late = await inject<{ message: string }>('PATCH', `/sends/${body.sendId}`, { delay: 'PT1M' });
    expect(late.status).toBe(409);
    expect(late.body.message).toMatch(/is completed/);
    expect((await inject('PATCH', '/sends/send-00000000-0000-4000-8000-000000000000', { delay: 'PT1M' })).status).toBe(
      404,
    );
  });

  it('never hands a cancelled scheduled send to a provider; cancelling again answers the same', async () => {
    const [userId] = await insertUsers(stack, [person('Cancelled')]);
    const user = await stack.database.users.findOne({ name: 'Cancelled' });
    const { body } = await inject<Scheduled>('POST', '/send', oneSms(userId, { delay: 'PT2S' }));
    const cancelled = await inject<Cancelled>('DELETE', `/sends/${body.sendId}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      cancelledWhile: 'scheduled',
      deliveries: { sentBefore: 0, inFlight: 0, cancelled: null },
    });
    expect((await inject<SendDetail>('GET', `/sends/${body.sendId}`)).body.status).toBe('cancelled');
    const again = await inject<Cancelled>('DELETE', `/sends/${body.sendId}`);
    expect(again).toEqual(cancelled);

    await stack.temporal.workflow.getHandle(body.sendId).result();
    const description = await stack.temporal.workflow.getHandle(body.sendId).describe();
    expect(description.searchAttributes.sendStatus).toEqual(['cancelled']);
    await sleep(Math.max(0, Date.parse(body.sendAt) - Date.now()) + 1500);
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(0);
    expect(await stack.database.deliveries.countDocuments({ sendId: body.sendId })).toBe(0);
    const moved = await inject<{ message: string }>('PATCH', `/sends/${body.sendId}`, { delay: 'PT1M' });
    expect(moved.status).toBe(409);
    expect(moved.body.message).toMatch(/is cancelled/);
    expect((await inject('DELETE', '/sends/send-00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('reads a scheduled send whose workflow was terminated as failed, closed by TERMINATED', async () => {
    const [userId] = await insertUsers(stack, [person('Terminated')]);
    const { body } = await inject<Scheduled>('POST', '/send', oneSms(userId, { delay: 'PT1M' }));
    await stack.temporal.workflow.getHandle(body.sendId).terminate('operator');
    const { body: detail } = await inject<SendDetail & { closedBy: string }>('GET', `/sends/${body.sendId}`);
    expect(detail).toMatchObject({ status: 'failed', closedBy: 'TERMINATED' });
  });

  it('refuses a finished send with 409 naming its status', async () => {
    const [userId] = await insertUsers(stack, [person('Finished')]);
    const { body } = await inject<{ sendId: string }>('POST', '/send', oneSms(userId, {}));
    await ended(body.sendId);
    const refused = await inject<{ message: string }>('DELETE', `/sends/${body.sendId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/is completed/);
  });

  it('stops a running fan-out: no provider call starts after the answer beyond those in flight', async () => {
    const size = 3000;
    await insertAudience(stack, 'fan', size, 'fan-out');
    await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 40 });
    const started = await stack.app.inject({
      method: 'POST',
      url: '/send',
      headers: { prefer: 'respond-async' },
      payload: {
        channels: ['sms'],
        clusters: ['fan-out'],
        messageTitle: 'News',
        messageContent: 'Hello {{user.name}}',
      },
    });
    const body = started.json<{ sendId: string }>();
    await waitFor(async () => (await providerCalls()) >= 300, 60_000);
    const cancelled = await inject<Cancelled>('DELETE', `/sends/${body.sendId}`);
    const callsAtAnswer = await providerCalls();
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.cancelledWhile).toBe('running');
    const { sentBefore, inFlight } = cancelled.body.deliveries;
    expect(sentBefore).toBeGreaterThan(0);
    // The answer comes after the cancel took hold, so the calls with the provider then may all have ended (a batch
    // boundary): inFlight can be 0. What must hold is the bound below: no call starts beyond those it counts.
    expect(inFlight).toBeGreaterThanOrEqual(0);
    expect(sentBefore + inFlight).toBeLessThan(size);

    const detail = await woundDown(body.sendId);
    expect(detail.status).toBe('cancelled');
    const callsAfter = (await providerCalls()) - callsAtAnswer;
    expect(callsAfter).toBeLessThanOrEqual(inFlight);
    const counts = detail.counts.sms;
    expect(counts.pending ?? 0).toBe(0);
    expect((counts.sent ?? 0) + (counts.cancelled ?? 0)).toBe(size);
    expect(counts.cancelled).toBeGreaterThan(0);
    expect(counts.sent).toBeGreaterThanOrEqual(sentBefore);
    expect(counts.sent).toBeLessThanOrEqual(sentBefore + inFlight);
    expect(await stack.database.deliveries.countDocuments({ sendId: body.sendId, status: 'cancelled' })).toBe(
      counts.cancelled,
    );
    // Every message the simulator took is one the ledger recorded as sent.
    expect((await simMessages(stack, 'channel=sms')).length).toBe(counts.sent);
  }, 120_000);

  it('cancels every send of a cancellation key, one started 50 ms before the cancel included', async () => {
    const key = `campaign-${Date.now()}`;
    const [userId] = await insertUsers(stack, [person('Keyed')]);
    await insertAudience(stack, 'key', 400, 'keyed');
    await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 40 });
    const scheduled = await inject<Scheduled>('POST', '/send', oneSms(userId, { delay: 'PT2S', cancellationKey: key }));
    const running = await stack.app.inject({
      method: 'POST',
      url: '/send',
      headers: { prefer: 'respond-async' },
      payload: {
        channels: ['sms'],
        clusters: ['keyed'],
        messageTitle: 'News',
        messageContent: 'Hello',
        cancellationKey: key,
      },
    });
    expect(running.statusCode).toBe(202);
    await sleep(50);
    const { status, body } = await inject<{ cancellationKey: string; cancelled: Cancelled[] }>(
      'POST',
      '/sends/cancel',
      { cancellationKey: key },
    );
    expect(status).toBe(200);
    const runningId = running.json<{ sendId: string }>().sendId;
    expect(body.cancelled.map((send) => send.sendId).sort()).toEqual([scheduled.body.sendId, runningId].sort());

    const runningEnd = await woundDown(runningId);
    expect(runningEnd.status).toBe('cancelled');
    expect(runningEnd.counts.sms.cancelled).toBeGreaterThan(0);
    expect((await ended(scheduled.body.sendId)).status).toBe('cancelled');
    expect((await simMessages(stack, 'channel=sms')).length).toBe(runningEnd.counts.sms.sent ?? 0);
    // Nothing left to cancel: an empty list.
    expect((await inject<{ cancelled: unknown[] }>('POST', '/sends/cancel', { cancellationKey: key })).body).toEqual({
      cancellationKey: key,
      cancelled: [],
      requests: [],
      events: [],
    });
  }, 120_000);

  it('refuses bad schedules and keys with 400 naming the field, and starts nothing', async () => {
    const [userId] = await insertUsers(stack, [person('Refused')]);
    const before = await stack.database.sends.countDocuments();
    const future = new Date(Date.now() + 60_000).toISOString();
    const cases: [object, RegExp][] = [
      [{ sendAt: future, delay: 'PT1M' }, /^sendAt: /],
      [{ sendAt: new Date(Date.now() - 1000).toISOString() }, /^sendAt: .*past/],
      [{ sendAt: new Date(Date.now() + 367 * 86_400_000).toISOString() }, /^sendAt: .*366 days/],
      [{ sendAt: '2030-01-01T10:00:00' }, /sendAt/],
      [{ delay: '30 minutes' }, /^delay: /],
      [{ delay: 'P400D' }, /^delay: .*366 days/],
      [{ cancellationKey: 'k'.repeat(129) }, /cancellationKey/],
    ];
    for (const [extra, message] of cases) {
      const { status, body } = await inject<{ message: string }>('POST', '/send', oneSms(userId, extra));
      expect({ extra, status }).toEqual({ extra, status: 400 });
      expect(body.message).toMatch(message);
    }
    expect(await stack.database.sends.countDocuments()).toBe(before);
  });

  it('schedules a saga send by the sendAt metadataSchema reads, and sends its success event once it is scheduled', async () => {
    const [userId] = await insertUsers(stack, [person('Saga')]);
    const user = await stack.database.users.findOne({ name: 'Saga' });
    const sagaId = `later-${Date.now()}`;
    const sendAt = new Date(Date.now() + 3000).toISOString();
    const command = (at: string) => ({
      key: sagaId,
      value: {
        messageLabel: 'sendNotification',
        messagePayload: {
          notification: { channels: ['sms'], title: 'Order', text: 'Your order ships', sendAt: at },
          buyer: { id: userId },
        },
      },
    });
    const refused = await inject<{ message: string }>('POST', '/saga/send', {
      ...command('yesterday'),
      key: `${sagaId}-bad`,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/sendAt/);

    const accepted = await stack.app.inject({ method: 'POST', url: '/saga/send', payload: command(sendAt) });
    expect(accepted.statusCode).toBe(200);
    const waiting = await inject<SendDetail>('GET', `/sends/saga-${sagaId}`);
    expect(waiting.body).toMatchObject({ status: 'scheduled', sendAt: new Date(sendAt).toISOString() });
    const events = async () =>
      (await simMessages(stack, 'channel=event')).filter((event) => event.to === sagaId).map((event) => event.data);
    await waitFor(async () => (await events()).length > 0);
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(0);
    expect((await ended(`saga-${sagaId}`)).status).toBe('completed');
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(1);
    expect(await events()).toEqual([{ key: sagaId, value: { messageLabel: 'notificationSent', messagePayload: {} } }]);
  });

  describe('POST /messages', () => {
    // One message object per 50 numbers, the most one may hold.
    const otp = (numbers: string[], extra: object = {}) => ({
      sms: Array.from({ length: Math.ceil(numbers.length / 50) }, (_, index) => ({
        template: 'later otp',
        data: { otp: '4242' },
        to: numbers.slice(index * 50, index * 50 + 50).map((number) => ({ countryCode: '1', number })),
      })),
      ...extra,
    });
    const requestEnded = (requestId: string) =>
      waitFor(async () => {
        const { body } = await inject<{ status: string }>('GET', `/messages/${requestId}`);
        return body.status !== 'scheduled' && body.status !== 'running' ? body : undefined;
      }, 30_000);
    const smsToNumber = async (number: string) =>
      (await simMessages(stack, 'channel=sms')).filter((m) => m.to === `+1${number}`);

    beforeAll(async () => {
      const created = await stack.app.inject({
        method: 'POST',
        url: '/templates',
        payload: { name: 'later otp', mode: 'sms', data: { body: 'Your code is {{otp}}' }, isActive: true },
      });
      expect(created.statusCode).toBe(201);
    });

    it('schedules a request, moves it, and sends it once at its new time', async () => {
      const { status, body } = await inject<{ requestId: string; status: string; sendAt: string }>(
        'POST',
        '/messages',
        otp(['5550000001'], { delay: 'PT2S' }),
      );
      expect(status).toBe(202);
      expect(body.status).toBe('scheduled');
      const listed = await inject<{ requestId: string }[]>('GET', '/messages?status=scheduled');
      expect(listed.body.map((request) => request.requestId)).toContain(body.requestId);
      const moved = await inject<{ sendAt: string }>('PATCH', `/messages/${body.requestId}`, { delay: 'PT5S' });
      expect(moved.status).toBe(200);
      await sleep(Date.parse(body.sendAt) - Date.now() + 1000);
      expect(await smsToNumber('5550000001')).toHaveLength(0);
      expect((await requestEnded(body.requestId)).status).toBe('completed');
      expect(await smsToNumber('5550000001')).toHaveLength(1);
      const [entry] = await stack.database.deliveries.find({ sendId: body.requestId }).toArray();
      expect(entry.sentAt!.getTime()).toBeGreaterThanOrEqual(Date.parse(moved.body.sendAt));
      expect((await inject('PATCH', `/messages/${body.requestId}`, { delay: 'PT1M' })).status).toBe(409);
    });

    it('never sends a cancelled scheduled request, and a cancellation key cancels requests and sends alike', async () => {
      const key = `messages-${Date.now()}`;
      const [userId] = await insertUsers(stack, [person('Mixed')]);
      const user = await stack.database.users.findOne({ name: 'Mixed' });
      const request = await inject<{ requestId: string }>(
        'POST',
        '/messages',
        otp(['5550000002'], { delay: 'PT2S', cancellationKey: key }),
      );
      const send = await inject<Scheduled>('POST', '/send', oneSms(userId, { delay: 'PT2S', cancellationKey: key }));
      const { body } = await inject<{
        cancelled: Cancelled[];
        requests: { requestId: string; cancelledWhile: string }[];
      }>('POST', '/sends/cancel', { cancellationKey: key });
      expect(body.cancelled.map((cancelled) => cancelled.sendId)).toEqual([send.body.sendId]);
      expect(body.requests).toEqual([
        expect.objectContaining({ requestId: request.body.requestId, cancelledWhile: 'scheduled' }),
      ]);
      expect((await requestEnded(request.body.requestId)).status).toBe('cancelled');
      await sleep(2500);
      expect(await smsToNumber('5550000002')).toHaveLength(0);
      expect(await smsTo(user!.phoneNumber as string)).toHaveLength(0);
      const again = await inject<{ requestId: string }>('DELETE', `/messages/${request.body.requestId}`);
      expect(again.status).toBe(200);
      expect((await inject('DELETE', '/messages/msg-00000000-0000-4000-8000-000000000000')).status).toBe(404);
    });

    it('stops a running request: the addresses not sent yet are recorded cancelled', async () => {
      await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 100 });
      const numbers = Array.from({ length: 300 }, (_, index) => `555100${String(index).padStart(4, '0')}`);
      const { status, body } = await inject<{ requestId: string }>('POST', '/messages', otp(numbers));
      expect({ status, body }).toEqual({
        status: 202,
        body: expect.objectContaining({ requestId: expect.any(String) }),
      });
      await waitFor(async () => (await simMessages(stack, 'channel=sms')).length >= 20);
      const cancelled = await inject<Cancelled & { requestId: string }>('DELETE', `/messages/${body.requestId}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.cancelledWhile).toBe('running');
      await stack.temporal.workflow.getHandle(body.requestId).result();
      const { body: ended } = await inject<{ status: string }>('GET', `/messages/${body.requestId}`);
      expect(ended.status).toBe('cancelled');
      const cancelledEntries = await stack.database.deliveries.countDocuments({
        sendId: body.requestId,
        status: 'cancelled',
      });
      const sentEntries = await stack.database.deliveries.countDocuments({ sendId: body.requestId, status: 'sent' });
      expect(cancelledEntries).toBeGreaterThan(0);
      expect(sentEntries + cancelledEntries).toBe(numbers.length);
      expect(sentEntries).toBeLessThanOrEqual(
        cancelled.body.deliveries.sentBefore + cancelled.body.deliveries.inFlight,
      );
    }, 60_000);

    it('refuses a bad sendAt with 400 naming the field, and stores nothing', async () => {
      const before = await stack.database.messageRequests.countDocuments();
      const refused = await inject<{ message: string }>('POST', '/messages', otp(['5550000003'], { delay: 'PT0S' }));
      expect(refused.status).toBe(400);
      expect(refused.body.message).toMatch(/^delay: /);
      expect(await stack.database.messageRequests.countDocuments()).toBe(before);
    });
  });

  it('loses nothing when the worker restarts during the wait: the send fires once', async () => {
    const [userId] = await insertUsers(stack, [person('Restart')]);
    const user = await stack.database.users.findOne({ name: 'Restart' });
    const { body } = await inject<Scheduled>('POST', '/send', oneSms(userId, { delay: 'PT3S' }));
    // The workflow has taken its first task (the timer is set) before the worker goes.
    await waitFor(async () => {
      const history = await stack.temporal.workflow.getHandle(body.sendId).fetchHistory();
      return history.events?.some((event) => event.timerStartedEventAttributes);
    });
    await stack.stopWorker();
    await sleep(Math.max(0, Date.parse(body.sendAt) - Date.now()) + 1000);
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(0);
    await stack.startWorker();
    expect((await ended(body.sendId)).status).toBe('completed');
    await sleep(1000);
    expect(await smsTo(user!.phoneNumber as string)).toHaveLength(1);
  }, 60_000);
});
