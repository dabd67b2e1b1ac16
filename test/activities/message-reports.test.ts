import { MockActivityEnvironment } from '@temporalio/testing';
import { twilioSignature } from '../../api/routes/webhooks/twilio-status';
import { publicBaseUrl, reportWebhookUrl } from '../../common/http/webhook-urls';
import { useActivityStack } from '../support/activity-stack';
import { quietTestLogger } from '../support/quiet-runtime';

/**
 * `/messages` delivery reports around a crash (docs/os1-messaging.md), with the dispatch activity run here against the
 * simulator: a batch stores its messages' provider ids after its whole batch, so a crash can leave sent messages
 * without them, and a provider can report a message before they are stored. The report is kept, and the retried
 * batch stores the ids and applies it.
 */
describe('delivery reports of a /messages batch cut short by a crash', () => {
  const started = useActivityStack();
  const run = <T>(fn: () => Promise<T>, attempt = 1): Promise<T> =>
    new MockActivityEnvironment({ attempt }, { logger: quietTestLogger() }).run(fn);

  it('keeps a report that comes before the ids are stored, and the retry stores them and applies it', async () => {
    const { stack, activities } = started;
    const template = await stack.app.inject({
      method: 'POST',
      url: '/templates',
      payload: { name: 'report otp', mode: 'sms', data: { body: 'your otp is {{otp}}' }, isActive: true },
    });
    expect(template.statusCode).toBe(201);
    const accepted = await stack.app.inject({
      method: 'POST',
      url: '/messages',
      payload: {
        sms: [{ template: 'report otp', data: { otp: '1234' }, to: [{ countryCode: '1', number: '5550009999' }] }],
        callback: { url: 'http://127.0.0.1:9/callbacks' },
      },
    });
    expect(accepted.statusCode).toBeLessThan(300);
    const { requestId } = accepted.json() as { requestId: string };
    // No worker polls the stack's queue: this test runs the batch itself.
    const input = { requestId, channel: 'sms' as const, first: 1, last: 1, maxAttempts: 5 };
    expect(await run(() => activities.dispatchMessages(input))).toMatchObject({ sent: 1 });
    const entry = await stack.database.deliveries.findOne({ _id: `${requestId}|sms|1/0` });
    expect(entry).toMatchObject({ status: 'sent', providerMessageId: expect.any(String) });
    const sid = entry!.providerMessageId!;
    expect(await stack.database.providerMessages.findOne({ _id: `twilio:${sid}` as never })).toMatchObject({
      requestId,
      providerName: null,
    });

    // The crash: the ledger says sent, the ids were never stored; Twilio reports delivery meanwhile.
    await stack.database.providerMessages.deleteMany({ requestId });
    const tokenUrl = reportWebhookUrl(stack.config.env, '/webhooks/twilio/status', null);
    const { pathname, search } = new URL(tokenUrl);
    const fields = { MessageSid: sid, MessageStatus: 'delivered' };
    const report = await stack.app.inject({
      method: 'POST',
      url: `${pathname}${search}`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(
          stack.config.env.TWILIO_AUTH_TOKEN as string,
          `${publicBaseUrl(stack.config.env)}${pathname}${search}`,
          fields,
        ),
      },
      payload: new URLSearchParams(fields).toString(),
    });
    expect(report.statusCode).toBe(204);
    expect((await stack.database.deliveries.findOne({ _id: entry!._id }))?.status).toBe('sent');

    // The retry sends nothing again, stores the ids, and applies the report it finds kept.
    expect(await run(() => activities.dispatchMessages(input), 2)).toMatchObject({ sent: 0, alreadyDone: 1 });
    expect(await stack.database.providerMessages.findOne({ _id: `twilio:${sid}` as never })).toMatchObject({
      requestId,
      deliveryKey: entry!._id,
    });
    expect((await stack.database.deliveries.findOne({ _id: entry!._id }))?.status).toBe('delivered');
    const events = await stack.database.callbackEvents.find({ requestId }).sort({ _id: 1 }).toArray();
    expect(events.map((event) => (event.payload as { status: string }).status)).toEqual([
      'delivered',
      'queued',
      'sent',
    ]);
    await stack.temporal.workflow
      .getHandle(requestId)
      .terminate()
      .catch(() => undefined);
  });
});
