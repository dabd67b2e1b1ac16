import { freePort } from '../../scripts/local-stack';
import { reportWebhookUrl } from '../../common/http/webhook-urls';
import type { ReportRecord } from '../../simulator';
import { eventually, startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver';
import { SEED_SES } from '../support/seed-004';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * SES and Pinpoint SMS delivery events on the real stack (docs/os1-messaging.md "SES and Pinpoint delivery events"):
 * the simulator posts them as Amazon SNS notifications, signed with its own certificate, to the SNS subscription URL
 * of the registered provider; the service verifies them and moves the message past `sent`.
 */

const APP_KEY = testApiKey('aws-events-app-key');
const ADMIN_KEY = testApiKey('aws-events-admin-key');
const EVENTS_PATH = '/webhooks/aws/events';

const PINPOINT = {
  name: 'events pinpoint',
  providerType: 'pinpoint',
  channel: 'sms',
  credentials: { accessKeyId: 'AKIAEVENTS', secretAccessKey: 'events-secret', region: 'us-east-1' },
  isActive: true,
  isTenantDefault: false,
};

interface AddressStatus {
  to: string;
  status: string;
  code: string | null;
  providerMessageId: string | null;
}

describe('SES and Pinpoint delivery events through Amazon SNS, on the real stack', () => {
  let stack: TestStack;
  let secret = '';
  const savedEndpoint = process.env.AWS_ENDPOINT_URL;

  const call = (key: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    stack.app.inject({ method, url, payload, headers: { authorization: `Bearer ${key}` } });
  const addressesOf = async (requestId: string) =>
    ((await call(APP_KEY, 'GET', `/messages/${requestId}`)).json() as { messages: { addresses: AddressStatus[] }[] })
      .messages[0]?.addresses ?? [];
  const statusesOf = (receiver: CallbackReceiver) => receiver.received.map(({ body }) => `${body.to}:${body.status}`);
  /** The SNS subscription endpoints the registrations answered, by provider name. */
  const eventsUrls = new Map<string, string>();
  const eventsUrl = (providerName: string) => eventsUrls.get(providerName)!;
  const reportsOf = async (provider: string) =>
    (await stack.sim<{ reports: ReportRecord[] }>('GET', `/reports?provider=${provider}`)).reports;

  beforeAll(async () => {
    const apiPort = await freePort();
    stack = await startTestStack({
      env: {
        PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
        HTTP_PORT: String(apiPort),
        API_KEYS: `${ADMIN_KEY}:send+read+admin,${APP_KEY}:send+read`,
      },
    });
    process.env.AWS_ENDPOINT_URL = stack.simulator.httpUrl;
    await stack.app.listen({ host: '127.0.0.1', port: apiPort });
    secret = (await call(APP_KEY, 'GET', '/callbacks/secret')).json().secret;
    for (const provider of [SEED_SES, PINPOINT]) {
      const registered = await call(ADMIN_KEY, 'POST', '/providers', provider);
      expect([provider.name, registered.statusCode]).toEqual([provider.name, 201]);
      const { eventsWebhookUrl } = registered.json();
      expect(eventsWebhookUrl).toBe(reportWebhookUrl(stack.config.env, EVENTS_PATH, provider.name));
      eventsUrls.set(provider.name, eventsWebhookUrl);
    }
    const template = await call(ADMIN_KEY, 'POST', '/templates', {
      name: 'order delivered',
      mode: 'email',
      data: { body: 'Order {{orderId}} delivered.', subject: 'Order {{orderId}}', format: 'text/plain', from: '' },
      isActive: true,
    });
    expect(template.statusCode).toBe(201);
    const sms = await call(ADMIN_KEY, 'POST', '/templates', {
      name: 'otp',
      mode: 'sms',
      data: { body: 'Your OTP is {{otp}}' },
      isActive: true,
    });
    expect(sms.statusCode).toBe(201);
  });
  afterAll(async () => {
    if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = savedEndpoint;
    await stack?.close();
  });

  it("moves an SES email to delivered, and a bounced one to failed with SES's reason, from the simulator's signed events; a repeated event changes nothing", async () => {
    await stack.sim('PUT', '/reports/config', {
      delayMs: 50,
      awsEventsUrl: eventsUrl(SEED_SES.name),
      undeliverableAddresses: ['bounce@example.com'],
    });
    const receiver = await startCallbackReceiver(() => secret);
    try {
      const accepted = await call(APP_KEY, 'POST', '/messages', {
        email: [
          {
            template: 'order delivered',
            provider: SEED_SES.name,
            to: ['customer@example.com', 'bounce@example.com'],
            data: { orderId: 'o-1' },
          },
        ],
        callback: { url: receiver.url, meta: {} },
      });
      expect(accepted.statusCode).toBe(202);
      const { requestId } = accepted.json();

      const addresses = await eventually(
        () => addressesOf(requestId),
        (found) => found.length === 2 && found.every(({ status }) => status === 'delivered' || status === 'failed'),
      );
      expect(addresses).toEqual([
        expect.objectContaining({ to: 'customer@example.com', status: 'delivered' }),
        expect.objectContaining({ to: 'bounce@example.com', status: 'failed', code: 'SES_BOUNCE_Permanent_General' }),
      ]);
      await eventually(
        () => statusesOf(receiver),
        (seen) => seen.includes('customer@example.com:delivered') && seen.includes('bounce@example.com:failed'),
      );
      expect(receiver.received.find(({ body }) => body.status === 'failed')?.body).toMatchObject({
        code: 'SES_BOUNCE_Permanent_General',
        error: 'smtp; 550 5.1.1 user unknown',
      });
      // A hard bounce puts the address on the email suppression list.
      expect(await stack.database.suppressions.findOne({ _id: 'email|bounce@example.com' })).toMatchObject({
        source: 'hard-bounce',
      });
      expect(await stack.database.suppressions.findOne({ _id: 'email|customer@example.com' })).toBeNull();

      // SNS retries a message until it is answered 2xx: the same notification again moves nothing, owes nothing.
      const delivered = (await reportsOf('ses')).find((report) => report.kind === 'delivered')!;
      expect(delivered.outcome).toBe('delivered');
      const repeated = await stack.app.inject({
        method: 'POST',
        url: new URL(delivered.url).pathname + new URL(delivered.url).search,
        headers: { 'content-type': 'text/plain; charset=UTF-8' },
        payload: delivered.body,
      });
      expect(repeated.statusCode).toBe(204);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(statusesOf(receiver).filter((status) => status === 'customer@example.com:delivered')).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a tampered event with a 403 and changes nothing', async () => {
    await stack.sim('PUT', '/reports/config', { delayMs: 60_000, awsEventsUrl: eventsUrl(SEED_SES.name) });
    const accepted = await call(APP_KEY, 'POST', '/messages', {
      email: [
        { template: 'order delivered', provider: SEED_SES.name, to: ['held@example.com'], data: { orderId: 'o-2' } },
      ],
    });
    const { requestId } = accepted.json();
    const [sent] = await eventually(
      () => addressesOf(requestId),
      (found) => found[0]?.status === 'sent',
    );
    const pending = (await reportsOf('ses')).find((report) => report.messageId === sent.providerMessageId)!;
    const notification = JSON.parse(pending.body) as { Message: string };
    const tampered = { ...notification, Message: notification.Message.replace('"Delivery"', '"Open"') };
    const url = new URL(pending.url);
    const refused = await stack.app.inject({
      method: 'POST',
      url: url.pathname + url.search,
      headers: { 'content-type': 'text/plain; charset=UTF-8' },
      payload: JSON.stringify(tampered),
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toContain('Signature');
    expect((await addressesOf(requestId))[0].status).toBe('sent');
    await stack.sim('DELETE', '/reports');
  });

  it("confirms the SNS subscription with a GET of its SubscribeURL, once the confirmation's signature holds", async () => {
    const subscribed = await stack.sim<{ answered: number }>('POST', '/sns/subscriptions', {
      endpoint: eventsUrl(SEED_SES.name),
      region: 'ap-south-1',
    });
    expect(subscribed.answered).toBe(204);
    const { subscriptions } = await stack.sim<{ subscriptions: { confirmed: boolean }[] }>('GET', '/sns/subscriptions');
    expect(subscriptions).toEqual([expect.objectContaining({ confirmed: true })]);
  });

  it('moves a Pinpoint SMS to delivered from its TEXT_DELIVERED event', async () => {
    await stack.sim('PUT', '/reports/config', { delayMs: 50, awsEventsUrl: eventsUrl(PINPOINT.name) });
    const accepted = await call(APP_KEY, 'POST', '/messages', {
      sms: [
        {
          template: 'otp',
          provider: PINPOINT.name,
          data: { otp: '123456' },
          to: [{ countryCode: '1', number: '5550001111' }],
        },
      ],
    });
    expect(accepted.statusCode).toBe(202);
    const [address] = await eventually(
      () => addressesOf(accepted.json().requestId),
      (found) => found[0]?.status === 'delivered',
    );
    expect(address).toMatchObject({ to: '+15550001111', status: 'delivered' });
  });
});
