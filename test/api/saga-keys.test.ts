import { randomUUID } from 'node:crypto';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const FLOW_MANAGER = {
  successEventLabel: 'notificationSent',
  failEventLabel: 'notificationFailed',
  metadataSchema: { channels: 'channels', recipients: 'to', messageTitle: 'title', messageContent: 'text' },
};

/**
 * Saga keys (docs/operating-sends.md "Saga sends"): any key `/saga/send` accepts names a send that `GET /sends/:sendId`
 * and a retry read back, its id percent-encoded in the URL; a key the schema refuses is a 400 naming `key`.
 */
describe('saga keys as send ids', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ service: { flowManagerConfiguration: FLOW_MANAGER } });
  });
  afterAll(() => stack.close());

  const sendUrl = (sendId: string) => `/sends/${encodeURIComponent(sendId)}`;
  const sagaSend = (key: string, payload: Record<string, unknown>) =>
    stack.app.inject({
      method: 'POST',
      url: '/saga/send',
      payload: { key, value: { messageLabel: 'sendNotification', messagePayload: payload } },
    });
  const readSend = async (sendId: string) => {
    const found = await waitFor(async () => {
      const response = await stack.app.inject({ method: 'GET', url: sendUrl(sendId) });
      return response.statusCode === 200 && response.json().status !== 'running' ? response : undefined;
    });
    return found.json();
  };

  it.each([
    ['spaces, a slash, a query and a fragment', (id: string) => `order 42/${id}?x=1#top %`],
    ['non-ASCII and an emoji', (id: string) => `ordine-è-✓-😀-${id}`],
    ['200 characters that take 9 each in a URL', (id: string) => `${id}-${'✓'.repeat(200 - id.length - 1)}`],
  ])('runs, reads and retries a saga whose key has %s', async (_case, keyOf) => {
    const phone = `+1555${Math.floor(Math.random() * 1e7)
      .toString()
      .padStart(7, '0')}`;
    const [user] = await insertUsers(stack, [person('Keyed', { phoneNumber: phone })]);
    const key = keyOf(randomUUID().slice(0, 8));
    const sendId = `saga-${key}`;
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: [phone] });

    expect((await sagaSend(key, { channels: ['sms'], to: user, title: 'T', text: 'C' })).statusCode).toBe(200);
    expect(await readSend(sendId)).toMatchObject({ sendId, kind: 'saga', status: 'failed', workflowId: sendId });
    const deliveries = await stack.app.inject({ method: 'GET', url: `${sendUrl(sendId)}/deliveries` });
    expect(deliveries.json().deliveries).toMatchObject([{ userId: user, status: 'failed' }]);

    await stack.sim('DELETE', '/faults');
    const retry = await stack.app.inject({ method: 'POST', url: `${sendUrl(sendId)}/retry` });
    expect(retry.statusCode).toBe(202);
    const retryId = `${sendId}-retry-1`;
    expect(retry.json()).toMatchObject({ sendId: retryId, retryOf: sendId, statusUrl: sendUrl(retryId) });
    expect(retry.headers.location).toBe(sendUrl(retryId));
    expect(await readSend(retryId)).toMatchObject({ sendId: retryId, kind: 'retry', status: 'completed' });
    expect((await simMessages(stack, 'channel=sms')).filter((message) => message.to === phone)).toHaveLength(1);
  });

  it.each([
    ['over 200 characters', 'k'.repeat(201), /^key: Too big/],
    ['with a lone surrogate', 'order-\ud800', /^key: must be well-formed/],
    ['that reads as the retry of another saga', 'order-42-retry-1', /^key: must not end with -retry-<n>/],
  ])('refuses a key %s with a 400 naming key, and sends no fail event', async (_case, key, message) => {
    const response = await sagaSend(key, { channels: ['sms'], to: 'u', title: 'T', text: 'C' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(message);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await simMessages(stack, 'channel=event')).filter((event) => event.to === key)).toEqual([]);
    // Not found, or (a lone surrogate) not even a workflow id Temporal can read.
    await expect(stack.temporal.workflow.getHandle(`saga-${key}`).describe()).rejects.toThrow();
  });

  it('answers an id that no send can have with a 400, and a long unknown one with a 404', async () => {
    const notAnId = await stack.app.inject({ method: 'GET', url: sendUrl('message-42') });
    expect(notAnId.statusCode).toBe(400);
    const unknown = await stack.app.inject({ method: 'GET', url: sendUrl(`saga-${'✓'.repeat(200)}-retry-12`) });
    expect(unknown.statusCode).toBe(404);
  });
});
