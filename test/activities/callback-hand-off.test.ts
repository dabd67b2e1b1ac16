import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  CallbackEventsRepository,
  type CallbackPayload,
  type CallbackStatus,
} from '../../common/store/messaging/callback-events-repository';
import { createActivities } from '../../activities';
import { activityDepsOn } from '../../activities/activity-deps';
import { useActivityStack } from '../support/activity-stack';
import { quietTestLogger } from '../support/quiet-runtime';

/**
 * Two posters of one request's callbacks at once (docs/os1-messaging.md "Callbacks"): the request's own round and the
 * one a delivery report starts. The report's poster finds the address held and leaves it to the holder, so the holder
 * must post the report's event too, though it was added after the holder read the address's events.
 */
describe('callback posters handing an address over', () => {
  const started = useActivityStack();
  const run = <T>(fn: () => Promise<T>): Promise<T> =>
    new MockActivityEnvironment({ attempt: 1 }, { logger: quietTestLogger() }).run(fn);

  let server: Server;
  let onPosted: (status: CallbackStatus) => Promise<void> = () => Promise.resolve();
  const posted: CallbackStatus[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const { status } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status: CallbackStatus };
        posted.push(status);
        void onPosted(status).then(() => response.writeHead(204).end());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeAll(async () => {
    const template = await started.stack.app.inject({
      method: 'POST',
      url: '/templates',
      payload: { name: 'hand-off otp', mode: 'sms', data: { body: 'otp {{otp}}' } },
    });
    expect(template.statusCode).toBe(201);
  });

  it("posts the event of a report that came while it held the address, which the report's poster left to it", async () => {
    const { stack, activities } = started;
    const accepted = await stack.app.inject({
      method: 'POST',
      url: '/messages',
      payload: {
        sms: [{ template: 'hand-off otp', data: { otp: '1' }, to: [{ countryCode: '1', number: '5550007777' }] }],
        callback: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks` },
      },
    });
    expect(accepted.statusCode).toBe(202);
    const { requestId, messages } = accepted.json() as { requestId: string; messages: { messageId: string }[] };
    const outbox = new CallbackEventsRepository(stack.database);
    const deliveryKey = `${requestId}|sms|1/0`;
    const event = (status: CallbackStatus): CallbackPayload => ({
      eventId: `${deliveryKey}|${status}`,
      requestId,
      messageId: messages[0].messageId,
      channel: 'sms',
      to: '+15550007777',
      status,
      timestamp: new Date().toISOString(),
    });
    // What the batch owes once it sent: no worker runs here, this test posts them itself.
    await outbox.add([event('queued'), event('sent')], [deliveryKey, deliveryKey]);

    // While the request's poster waits for the receiver's answer to `sent`, the delivery report comes: its event is
    // added and its own poster runs, finds `sent` held, and leaves the address.
    let reportPoster: Promise<{ posted: number }> | undefined;
    onPosted = async (status) => {
      if (status !== 'sent') return;
      await outbox.add([event('delivered')], [deliveryKey]);
      reportPoster = run(() => activities.postCallbacks({ requestId }));
      expect(await reportPoster).toEqual({ posted: 0 });
    };
    expect(await run(() => activities.postCallbacks({ requestId }))).toEqual({ posted: 3 });
    expect(reportPoster).toBeDefined();
    expect(posted).toEqual(['queued', 'sent', 'delivered']);
    expect(await outbox.countsByState(requestId)).toEqual({ pending: 0, delivered: 3, expired: 0 });
  });

  it('owes the sent event of a message before storing the provider id its delivery report finds it by', async () => {
    const { stack } = started;
    const deps = activityDepsOn(stack.config, stack.database);
    const outbox = new CallbackEventsRepository(stack.database);
    /** The statuses owed for each message when its provider id was stored. */
    const owedWhenFindable: string[][] = [];
    const { remember } = deps.deliveryReports;
    deps.deliveryReports.remember = async (requestId, sent) => {
      for (const { deliveryKey } of sent) {
        const owed = await outbox.pendingOfAddress(requestId, deliveryKey);
        owedWhenFindable.push(owed.map(({ payload }) => payload.status).sort());
      }
      return remember.call(deps.deliveryReports, requestId, sent);
    };
    try {
      const accepted = await stack.app.inject({
        method: 'POST',
        url: '/messages',
        payload: {
          sms: [{ template: 'hand-off otp', data: { otp: '2' }, to: [{ countryCode: '1', number: '5550008888' }] }],
          callback: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks` },
        },
      });
      const { requestId } = accepted.json() as { requestId: string };
      const input = { requestId, channel: 'sms' as const, first: 1, last: 1, maxAttempts: 5 };
      expect(await run(() => createActivities(deps).dispatchMessages(input))).toMatchObject({ sent: 1 });
      // A report that finds the message from here on owes its event after the `sent` it follows.
      expect(owedWhenFindable).toEqual([['queued', 'sent']]);
    } finally {
      await deps.close();
    }
  });
});
