import { RETENTION_INDEX } from '../../common/store/retention';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * `GET /messages` (docs/os1-messaging.md): operators page through the `POST /messages` requests, newest first, by
 * status, application and time, on the real store; no worker, so the requests stay as the API stored them.
 */
describe('GET /messages: the bulk requests, newest first', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      env: {
        API_KEYS: [
          `${testApiKey('admin-key')}:admin`,
          `${testApiKey('sender')}:send`,
          `${testApiKey('reader')}:read`,
        ].join(','),
      },
    });
  });
  afterAll(() => stack?.close());

  const as = (key: string) => (method: 'GET' | 'POST', url: string, payload?: object) =>
    stack.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${testApiKey(key)}` },
      ...(payload ? { payload } : {}),
    });
  const sender = as('sender');
  const admin = as('admin-key');
  const reader = as('reader');
  const to = (number: string) => [{ countryCode: '1', number }];
  const sms = (number: string) => [{ template: 'list sms', to: to(number), data: {} }];
  const ids = (response: { json(): unknown }) => (response.json() as { requestId: string }[]).map((r) => r.requestId);

  it('lists them newest first, filtered by status, application and time, in pages, without addresses', async () => {
    expect(
      (await admin('POST', '/templates', { name: 'list sms', mode: 'sms', data: { body: 'hello' } })).statusCode,
    ).toBe(201);
    const notification = await sender('POST', '/notifications', {
      appId: 'shop-app',
      name: 'list otp',
      templates: { sms: 'list sms' },
    });
    expect(notification.statusCode).toBe(201);
    expect((await admin('POST', `/notifications/${notification.json()._id}/enable`)).statusCode).toBe(200);

    const accepted: string[] = [];
    for (const [url, payload] of [
      ['/messages', { sms: sms('4155550101') }],
      ['/messages', { sms: sms('4155550102') }],
      ['/messages/notifications', { notification: 'list otp', sms: [{ to: to('4155550103') }] }],
    ] as const) {
      const response = await sender('POST', url, payload);
      expect([response.statusCode, response.json().message]).toEqual([202, undefined]);
      accepted.push(response.json().requestId);
    }
    const [first, second, byNotification] = accepted;
    // Distinct, known times and one request that failed.
    const at = (day: number) => new Date(`2026-03-0${day}T10:00:00.000Z`);
    for (const [index, requestId] of accepted.entries()) {
      await stack.database.messageRequests.updateOne(
        { _id: requestId as never },
        { $set: { createdAt: at(index + 1) } },
      );
    }
    await stack.database.messageRequests.updateOne({ _id: second as never }, { $set: { status: 'failed' } });

    const all = await reader('GET', '/messages');
    expect(all.statusCode).toBe(200);
    expect(ids(all)).toEqual([byNotification, second, first]);
    expect(all.json()[0]).toEqual({
      requestId: byNotification,
      workflowId: byNotification,
      status: 'running',
      appId: 'shop-app',
      notification: 'list otp',
      messages: 1,
      channels: ['sms'],
      statusUrl: `/messages/${byNotification}`,
      createdAt: at(3).toISOString(),
      completedAt: null,
      sendAt: null,
      cancellationKey: null,
    });
    expect(all.json()[2]).toMatchObject({ requestId: first, appId: null, notification: null });
    expect(all.body).not.toMatch(/415555010/);

    expect(ids(await reader('GET', '/messages?status=failed'))).toEqual([second]);
    expect(ids(await reader('GET', '/messages?status=running'))).toEqual([byNotification, first]);
    expect(ids(await reader('GET', '/messages?appId=shop-app'))).toEqual([byNotification]);
    expect(ids(await reader('GET', '/messages?appId=other-app'))).toEqual([]);
    const window = `from=${encodeURIComponent(at(1).toISOString())}&to=${encodeURIComponent(at(3).toISOString())}`;
    expect(ids(await reader('GET', `/messages?${window}`))).toEqual([second, first]);
    expect(ids(await reader('GET', '/messages?limit=1&skip=1'))).toEqual([second]);
    expect(ids(await reader('GET', '/messages?limit=2&skip=2'))).toEqual([first]);
  });

  it.each([
    ['status', 'status=lost'],
    ['appId', 'appId='],
    ['from', 'from=yesterday'],
    ['to', 'to=2026-13-01'],
    ['limit', 'limit=0'],
    ['skip', 'skip=-1'],
  ])('refuses a bad %s with a 400 naming it', async (field, query) => {
    const response = await reader('GET', `/messages?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(response.json().message).toMatch(new RegExp(`\\b${field}\\b`));
  });

  it('is for readers: a key that may only send gets a 403', async () => {
    expect((await sender('GET', '/messages')).statusCode).toBe(403);
  });

  it('has the indexes that serve it: by status and by application, newest first, and newest first alone', async () => {
    const indexes = await stack.database.messageRequests.indexes();
    const keys = Object.fromEntries(indexes.map((index) => [index.name, index.key]));
    expect(keys).toMatchObject({
      by_status_created: { status: 1, createdAt: -1 },
      by_app_created: { appId: 1, createdAt: -1 },
      // The retention's TTL index on MongoDB; a plain one where TTL indexes are missing (FerretDB).
      [RETENTION_INDEX]: { createdAt: -1 },
      // ?status=scheduled, in sendAt order with _id breaking ties, as GET /sends?status=scheduled.
      by_status_send_at_id: { status: 1, sendAt: 1, _id: 1 },
    });
    const sendIndexes = await stack.database.sends.indexes();
    expect(Object.fromEntries(sendIndexes.map((index) => [index.name, index.key]))).toMatchObject({
      by_status_send_at_id: { status: 1, sendAt: 1, _id: 1 },
    });
  });
});
