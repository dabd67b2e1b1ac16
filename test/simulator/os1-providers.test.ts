import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { PermanentProviderError } from '../../common/domain/http-errors';
import { createProvider, ProviderHttpClient, type EmailMessage } from '../../activities/providers';
import { RunningSimulator, startSimulator } from '../../simulator';
import { basicAuth, call, reset, setFault } from './helpers';

// On Node 20 (past its end of life, not supported, still on some development machines) the SDK warns once per
// process that its later versions need Node 22: not a test result.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let sim: RunningSimulator;
let base: string;
const http = new ProviderHttpClient();

/** A status-callback receiver: records each POST (raw body, headers, full URL) and answers `status`. */
interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
let receiverStatus = 200;

beforeAll(async () => {
  sim = await startSimulator({ httpPort: 0, smtpPort: 0 });
  base = sim.httpUrl;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ url: `${receiverUrl}${req.url?.replace(/^\/[^?]*/, '') ?? ''}`, headers: req.headers, body });
      res.writeHead(receiverStatus).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/status`;
});

afterAll(async () => {
  await http.close();
  await sim.close();
  await new Promise((resolve) => receiver.close(resolve));
});

beforeEach(async () => {
  await reset(base);
  await call(`${base}/reports`, { method: 'DELETE' });
  await call(`${base}/reports/config`, { method: 'PUT', json: { delayMs: 20, seenDelayMs: 20, retryDelayMs: 20 } });
  received.length = 0;
  receiverStatus = 200;
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const aws = (overrides: Record<string, string> = {}) => ({
  accessKeyId: 'AKIASIMULATOR',
  secretAccessKey: 'simulator-secret',
  region: 'ap-south-1',
  endpoint: base,
  ...overrides,
});

const email: EmailMessage = {
  from: 'noreply@example.com',
  to: 'customer@example.com',
  cc: ['cc@example.com'],
  bcc: ['audit@example.com'],
  subject: 'Order abc789 delivered',
  text: 'Your order abc789 was delivered.',
  html: '<p>Your order <b>abc789</b> was delivered.</p>',
  attachments: [{ filename: 'receipt.txt', content: Buffer.from('receipt 42'), contentType: 'text/plain' }],
};

describe('SES (AWS SDK v3 SESv2 client against the simulator)', () => {
  it('sends an email whose SES MessageId is the receipt, recorded with cc, bcc and attachments', async () => {
    const ses = createProvider({ providerType: 'ses', settings: aws() }, { http });
    try {
      const receipt = await ses.sendEmail(email);
      expect(receipt.providerMessageId).toMatch(/^0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f-]{36}-000000$/);
      const { body } = await call(`${base}/messages?provider=ses`);
      expect(body.messages).toHaveLength(1);
      expect(body.messages[0]).toMatchObject({
        id: receipt.providerMessageId,
        channel: 'email',
        to: 'customer@example.com',
        from: 'noreply@example.com',
        cc: ['cc@example.com'],
        bcc: ['audit@example.com'],
        subject: email.subject,
        text: email.text,
        html: email.html,
        attachments: [{ filename: 'receipt.txt', contentType: 'text/plain', size: 10 }],
      });
    } finally {
      ses.close();
    }
  });

  it('finds the simulator through AWS_ENDPOINT_URL_SESV2 when the settings name no endpoint', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SESV2;
    process.env.AWS_ENDPOINT_URL_SESV2 = base;
    const ses = createProvider({ providerType: 'ses', settings: aws({ endpoint: undefined } as never) }, { http });
    try {
      await ses.sendEmail({ ...email, cc: [], bcc: [], attachments: [] });
      expect((await call(`${base}/messages/count?provider=ses`)).body.count).toBe(1);
    } finally {
      ses.close();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SESV2;
      else process.env.AWS_ENDPOINT_URL_SESV2 = saved;
    }
  });

  it('refuses a request without SigV4 Authorization the way AWS does', async () => {
    const res = await call(`${base}/v2/email/outbound-emails`, {
      json: { FromEmailAddress: 'a@example.com', Destination: { ToAddresses: ['b@example.com'] }, Content: {} },
    });
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    expect(res.body).toMatchObject({ message: 'Missing Authentication Token' });

    const malformed = await call(`${base}/v2/email/outbound-emails`, {
      headers: { authorization: 'Bearer something', 'x-amz-date': '20260101T000000Z' },
      json: {},
    });
    expect(malformed.status).toBe(403);
    expect(malformed.headers['x-amzn-errortype']).toBe('IncompleteSignatureException');
    expect((await call(`${base}/messages/count`)).body.count).toBe(0);
  });

  it('refuses bad credentials: the SDK names the exception and the provider fails permanently', async () => {
    const ses = createProvider({ providerType: 'ses', settings: aws({ accessKeyId: 'INVALIDKEY' }) }, { http });
    try {
      const failure = await ses.sendEmail(email).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PermanentProviderError);
      expect(failure).toMatchObject({ code: 'SES_UnrecognizedClientException' });
      expect((await call(`${base}/messages/count`)).body.count).toBe(0);
    } finally {
      ses.close();
    }
  });

  it('makes a simulated outage transient and a rejected address permanent', async () => {
    const ses = createProvider({ providerType: 'ses', settings: aws() }, { http });
    try {
      await setFault(base, { target: 'email', failNext: 1, status: 429 });
      await expect(ses.sendEmail(email)).rejects.toMatchObject({
        name: 'TransientProviderError',
        code: 'SES_TooManyRequestsException',
        throttled: true,
      });
      await setFault(base, { target: 'email', rejectAddresses: ['customer@example.com'] });
      await expect(ses.sendEmail(email)).rejects.toMatchObject({
        name: 'PermanentProviderError',
        code: 'SES_MessageRejected',
      });
    } finally {
      ses.close();
    }
  });
});

describe('Pinpoint SMS (AWS SDK v3 Pinpoint SMS Voice v2 client against the simulator)', () => {
  it('sends the origination number, the template id and the entity id with the SMS', async () => {
    const pinpoint = createProvider(
      { providerType: 'pinpoint', settings: { ...aws(), entityId: '1101000000000000001' } },
      { http },
    );
    try {
      const receipt = await pinpoint.sendSms({
        from: '+18005551234',
        to: '+15551234567',
        body: 'Your login otp is 342365',
        templateRef: '1107900000188600009',
      });
      const { body } = await call(`${base}/messages?provider=pinpoint`);
      expect(body.messages).toEqual([
        expect.objectContaining({
          id: receipt.providerMessageId,
          channel: 'sms',
          to: '+15551234567',
          from: '+18005551234',
          body: 'Your login otp is 342365',
          data: expect.objectContaining({
            templateId: '1107900000188600009',
            entityId: '1101000000000000001',
            messageType: 'TRANSACTIONAL',
          }),
        }),
      ]);
      expect(body.messages[0].raw).toMatchObject({ OriginationIdentity: '+18005551234' });
    } finally {
      pinpoint.close();
    }
  });

  it('refuses a missing signature and a bad key, and reports an opted-out number as permanent', async () => {
    const unsigned = await request(`${base}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'PinpointSMSVoiceV2.SendTextMessage',
      },
      body: JSON.stringify({ DestinationPhoneNumber: '+15551234567', MessageBody: 'x' }),
    });
    expect(unsigned.statusCode).toBe(403);
    expect(await unsigned.body.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });

    const badKey = createProvider({ providerType: 'pinpoint', settings: aws({ accessKeyId: 'INVALID1' }) }, { http });
    const good = createProvider({ providerType: 'pinpoint', settings: aws() }, { http });
    try {
      await expect(badKey.sendSms({ from: '+18005551234', to: '+15551234567', body: 'x' })).rejects.toMatchObject({
        name: 'PermanentProviderError',
        code: 'PINPOINT_UnrecognizedClientException',
      });
      await setFault(base, { target: 'sms', rejectAddresses: ['+15550666666'] });
      await expect(good.sendSms({ from: '+18005551234', to: '+15550666666', body: 'x' })).rejects.toMatchObject({
        name: 'PermanentProviderError',
        code: 'PINPOINT_DESTINATION_PHONE_NUMBER_OPTED_OUT',
      });
      expect((await call(`${base}/messages/count`)).body.count).toBe(0);
    } finally {
      badKey.close();
      good.close();
    }
  });
});

describe('Infobip WhatsApp with OAuth client credentials (the OS1 registry shape)', () => {
  const settings = () => ({ apiBaseUrl: base, clientId: 'os1-client', clientSecret: 'os1-secret' });

  it('sends a template with a document header, an image apart, url and quick-reply buttons', async () => {
    const infobip = createProvider({ providerType: 'infobip', settings: settings() }, { http });
    const receipt = await infobip.sendWhatsapp({
      from: '447860099299',
      to: '919812345600',
      body: 'Dear John, your order xyz123 has been delivered.',
      template: { name: 'order_delivered', language: 'en', placeholders: ['John', 'xyz123'] },
      media: {
        document: { url: 'https://example.com/document.pdf', filename: 'order details.pdf' },
        image: { url: 'https://example.com/image.jpg' },
      },
      buttons: [
        { type: 'url', value: 'track/xyz123' },
        { type: 'quickReply', value: 'confirm delivery' },
      ],
    });
    const { body } = await call(`${base}/messages?provider=infobip`);
    expect(body.messages.map((m: { data: { type: string } }) => m.data.type)).toEqual(['image', 'template']);
    const template = body.messages[1];
    expect(template).toMatchObject({
      id: receipt.providerMessageId,
      to: '919812345600',
      title: 'order_delivered',
      body: 'John | xyz123',
      data: {
        language: 'en',
        header: { type: 'DOCUMENT', mediaUrl: 'https://example.com/document.pdf', filename: 'order details.pdf' },
        buttons: [
          { type: 'URL', parameter: 'track/xyz123' },
          { type: 'QUICK_REPLY', parameter: 'confirm delivery' },
        ],
      },
    });
    expect((await call(`${base}/stats`)).body.tokensIssued).toBe(1);
  });

  it('sends free-form reply buttons with an image header, and a location apart, on one token', async () => {
    const infobip = createProvider({ providerType: 'infobip', settings: settings() }, { http });
    await infobip.sendWhatsapp({
      from: '447860099299',
      to: '919812345600',
      body: 'Did your order arrive?',
      media: { image: { url: 'https://example.com/map.jpg' }, location: { latitude: 37.7749, longitude: -122.4194 } },
      buttons: [
        { type: 'quickReply', value: 'yes' },
        { type: 'quickReply', value: 'no' },
      ],
    });
    await infobip.sendWhatsapp({
      from: '447860099299',
      to: '919812345600',
      body: 'Track it here',
      buttons: [{ type: 'url', value: 'https://example.com/track/xyz123' }],
    });
    const { body } = await call(`${base}/messages?provider=infobip`);
    expect(body.messages.map((m: { data: unknown; body: string }) => [m.body, m.data])).toEqual([
      [undefined, { type: 'location', latitude: 37.7749, longitude: -122.4194 }],
      [
        'Did your order arrive?',
        {
          type: 'interactive buttons',
          buttons: [
            { type: 'REPLY', id: 'yes', title: 'yes' },
            { type: 'REPLY', id: 'no', title: 'no' },
          ],
          header: { type: 'IMAGE', mediaUrl: 'https://example.com/map.jpg' },
        },
      ],
      ['Track it here', { type: 'interactive url button', url: 'https://example.com/track/xyz123' }],
    ]);
    expect((await call(`${base}/stats`)).body.tokensIssued).toBe(1);
  });

  it('renews a revoked token once and goes on; refuses unknown client credentials permanently', async () => {
    await call(`${base}/infobip/tokens`, { method: 'DELETE' }); // the tokens of the tests before
    const infobip = createProvider({ providerType: 'infobip', settings: settings() }, { http });
    const text = { from: '447860099299', to: '919812345600', body: 'hello' };
    await infobip.sendWhatsapp(text);
    expect((await call(`${base}/infobip/tokens`, { method: 'DELETE' })).body).toEqual({ revoked: 1 });
    await infobip.sendWhatsapp(text);
    expect((await call(`${base}/stats`)).body).toMatchObject({ tokensIssued: 2, rejected: 1 });
    expect((await call(`${base}/messages/count?provider=infobip`)).body.count).toBe(2);

    const stranger = createProvider(
      { providerType: 'infobip', settings: { ...settings(), clientSecret: 'INVALID-secret' } },
      { http },
    );
    await expect(stranger.sendWhatsapp(text)).rejects.toBeInstanceOf(PermanentProviderError);
  });

  it('names the refused field of a malformed message, as Infobip does', async () => {
    const token = (
      await call(`${base}/auth/1/oauth2/token`, {
        form: { client_id: 'c', client_secret: 's', grant_type: 'client_credentials' },
      })
    ).body.access_token;
    const res = await call(`${base}/whatsapp/1/message/interactive/buttons`, {
      headers: { authorization: `Bearer ${token}` },
      json: {
        from: '1',
        to: '2',
        content: { body: { text: 'x' }, action: { buttons: [{ type: 'REPLY', id: 'a', title: 'x'.repeat(21) }] } },
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.requestError.serviceException.validationErrors).toEqual({
      'content.action.buttons[0].title': ['must have 1 to 20 characters'],
    });
  });
});

describe('delivery reports posted by the simulator', () => {
  /** Twilio's signature, computed here from its documented algorithm, not with the simulator's code. */
  const expectedTwilioSignature = (authToken: string, url: string, form: URLSearchParams) => {
    const data = [...form.keys()].sort().reduce((text, key) => text + key + form.get(key), url);
    return createHmac('sha1', authToken).update(data).digest('base64');
  };

  it('posts Twilio’s delivered status, form-encoded and signed with the auth token of the send', async () => {
    const twilio = createProvider(
      {
        providerType: 'twilio',
        settings: { baseUrl: base, accountSid: 'AC' + 'b'.repeat(32), authToken: 'the-auth-token' },
      },
      { http },
    );
    const callbackUrl = `${receiverUrl}?token=abc`;
    const receipt = await twilio.sendSms({
      from: '+15005550006',
      to: '+15551230001',
      body: 'hi',
      statusCallbackUrl: callbackUrl,
    });
    const report = await waitFor('the Twilio report', () => received[0]);
    expect(report.url).toBe(callbackUrl);
    expect(report.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(report.body);
    expect(Object.fromEntries(form)).toMatchObject({
      MessageSid: receipt.providerMessageId,
      MessageStatus: 'delivered',
      To: '+15551230001',
      From: '+15005550006',
      AccountSid: 'AC' + 'b'.repeat(32),
    });
    expect(report.headers['x-twilio-signature']).toBe(expectedTwilioSignature('the-auth-token', callbackUrl, form));
    expect(report.headers['x-twilio-signature']).not.toBe(expectedTwilioSignature('another-token', callbackUrl, form));

    const { body } = await call(`${base}/reports?provider=twilio`);
    expect(body.reports).toEqual([
      expect.objectContaining({ kind: 'delivered', messageId: receipt.providerMessageId, outcome: 'delivered' }),
    ]);
  });

  it('reports a configured recipient as undelivered with Twilio’s error code', async () => {
    await call(`${base}/reports/config`, { method: 'PUT', json: { undeliverableAddresses: ['+15551230002'] } });
    await call(`${base}/2010-04-01/Accounts/ACx/Messages.json`, {
      headers: { authorization: basicAuth('ACx', 'token') },
      form: { To: '+15551230002', From: '+1500', Body: 'x', StatusCallback: receiverUrl },
    });
    const report = await waitFor('the Twilio report', () => received[0]);
    expect(Object.fromEntries(new URLSearchParams(report.body))).toMatchObject({
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
    });
  });

  it('posts Infobip’s DELIVERED report to notifyUrl, then a SEEN report', async () => {
    const infobip = createProvider(
      { providerType: 'infobip', settings: { baseUrl: base, apiKey: 'simulator-key' } },
      { http },
    );
    const receipt = await infobip.sendWhatsapp({
      from: '447860099299',
      to: '919812345600',
      body: 'hello',
      statusCallbackUrl: receiverUrl,
    });
    await waitFor('both Infobip reports', () => (received.length >= 2 ? true : undefined));
    const [delivered, seen] = received.map((report) => JSON.parse(report.body));
    expect(delivered.results).toEqual([
      expect.objectContaining({
        messageId: receipt.providerMessageId,
        to: '919812345600',
        status: expect.objectContaining({ groupName: 'DELIVERED', name: 'DELIVERED_TO_HANDSET' }),
        doneAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/),
      }),
    ]);
    expect(seen.results).toEqual([
      expect.objectContaining({ messageId: receipt.providerMessageId, seenAt: expect.any(String) }),
    ]);
    expect(received[0].headers['content-type']).toBe('application/json');
  });

  it('retries a failing receiver a bounded number of times and records the outcome', async () => {
    receiverStatus = 503;
    await call(`${base}/reports/config`, { method: 'PUT', json: { maxAttempts: 2 } });
    const infobip = createProvider({ providerType: 'infobip', settings: { baseUrl: base, apiKey: 'k' } }, { http });
    await infobip.sendWhatsapp({ from: '1', to: '2', body: 'x', statusCallbackUrl: receiverUrl });
    const [report] = await waitFor('the failed report', async () => {
      const { body } = await call(`${base}/reports?provider=infobip`);
      return body.reports[0]?.outcome === 'failed' ? body.reports : undefined;
    });
    expect(report).toMatchObject({ attempts: 2, lastStatus: 503, kind: 'delivered' });
    expect(received).toHaveLength(2);
  });

  it('never posts to a host that is not loopback', async () => {
    const infobip = createProvider({ providerType: 'infobip', settings: { baseUrl: base, apiKey: 'k' } }, { http });
    await infobip.sendWhatsapp({ from: '1', to: '2', body: 'x', statusCallbackUrl: 'https://example.com/hook' });
    const { body } = await call(`${base}/reports`);
    expect(body.reports).toEqual([
      expect.objectContaining({ outcome: 'skipped', error: expect.stringContaining('example.com'), attempts: 0 }),
    ]);
  });
});
