import { parseEnvironment } from '../../providers/service-configuration';
import { OsMessageRenderer, fillPlaceholders, placeholderValues } from '../../activities/messages/render-message';
import { normalizePhone, planMessageBatches } from '../../api/services/messaging/message-requests-service';
import { callbackSignature, providerWebhookUrl, verifyWebhookToken } from '../../common/http/webhook-urls';
import { MessageRenderer } from '../../common/rendering/rendering';
import { RenderPool } from '../../common/rendering/render-pool';
import type { StoredMessage } from '../../common/store/messaging/message-requests-repository';
import { messagesBodySchema } from '../../api/schemas/messages-schemas';

const sender = { email: 'noreply@example.com', sms: '+15005550006', voice: '+15005550006', whatsapp: '+15005550006' };
const pool = new RenderPool({ locale: 'en', timeoutMs: 5000, maxOutputBytes: 1024 * 1024 });
const renderer = new OsMessageRenderer(new MessageRenderer('en'), pool, sender);

afterAll(() => pool.close());

const message = (fields: Partial<StoredMessage>): StoredMessage => ({
  messageId: 'msg-1-1',
  n: 1,
  channel: 'sms',
  template: 't',
  provider: null,
  data: {},
  to: ['+15551234567'],
  cc: [],
  bcc: [],
  ...fields,
});

describe('OS1 message rendering', () => {
  it('binds placeholders to the data at the root and under data, with the helpers of /send', async () => {
    const rendered = await renderer.render(
      message({ data: { otp: '342365', name: 'ada' } }),
      { name: 't', mode: 'sms', isActive: true, data: { body: 'OTP {{otp}} for {{capitalize data.name}}' } },
      '+15551234567',
    );
    expect(rendered).toEqual({
      channel: 'sms',
      message: { from: '+15005550006', to: '+15551234567', body: 'OTP 342365 for Ada' },
    });
  });

  it('sends sms from the origination number, then the sender id, and carries the template reference', async () => {
    const template = {
      name: 't',
      mode: 'sms' as const,
      isActive: true,
      data: { body: 'x', externalRef: '1107900000188600009', originationNumber: '+18005550000' },
    };
    expect((await renderer.render(message({ senderId: 'DLHVRY' }), template, '+1')).message).toMatchObject({
      from: 'DLHVRY',
      templateRef: '1107900000188600009',
    });
    expect(
      (await renderer.render(message({ originationNumber: '+18005551234', senderId: 'X' }), template, '+1')).message,
    ).toMatchObject({
      from: '+18005551234',
    });
    expect((await renderer.render(message({ from: '' }), template, '+1')).message).toMatchObject({
      from: '+18005550000',
    });
  });

  it('renders email subject and body, plain text also as escaped HTML, and keeps cc and bcc', async () => {
    const rendered = await renderer.render(
      message({ channel: 'email', data: { orderId: 'A<1>' }, cc: ['c@example.com'], bcc: ['b@example.com'] }),
      {
        name: 't',
        mode: 'email',
        isActive: true,
        data: { body: 'Order {{orderId}}\nThanks', subject: 'Order {{orderId}}', from: '' },
      },
      'to@example.com',
    );
    expect(rendered).toMatchObject({
      channel: 'email',
      message: {
        from: 'noreply@example.com',
        to: 'to@example.com',
        cc: ['c@example.com'],
        bcc: ['b@example.com'],
        subject: 'Order A<1>',
        text: 'Order A<1>\nThanks',
        html: 'Order A&lt;1&gt;<br/>Thanks',
      },
    });
  });

  it('sends a WhatsApp template with its placeholders in order, the message media and buttons winning', async () => {
    const rendered = await renderer.render(
      message({
        channel: 'whatsapp',
        data: { name: 'John', orderId: 'xyz' },
        buttons: [{ type: 'url', value: 'https://example.com/track/{{orderId}}' }],
      }),
      {
        name: 't',
        mode: 'whatsapp',
        isActive: true,
        data: {
          body: 'Dear {{name}}, order {{orderId}} is delivered',
          externalRef: 'order_delivered',
          media: { image: { url: 'https://example.com/{{orderId}}.jpg' } },
          buttons: [{ type: 'quickReply', value: 'confirm' }],
        },
      },
      '+919812345600',
    );
    expect(rendered.message).toMatchObject({
      template: { name: 'order_delivered', language: 'en', placeholders: ['John', 'xyz'] },
      media: { image: { url: 'https://example.com/xyz.jpg' } },
      buttons: [{ type: 'url', value: 'https://example.com/track/xyz' }],
    });
  });

  it('fails a mode template over the render budget with RENDER_LIMIT, on the render threads', async () => {
    const strictPool = new RenderPool({ locale: 'en', timeoutMs: 200, maxOutputBytes: 1024 * 1024 });
    const strict = new OsMessageRenderer(new MessageRenderer('en'), strictPool, sender);
    const items = Array.from({ length: 1000 }, (_, index) => index);
    try {
      await expect(
        strict.render(
          message({ data: { items } }),
          {
            name: 't',
            mode: 'sms',
            isActive: true,
            data: { body: '{{#each items}}{{#each @root.items}}{{#each @root.items}}{{/each}}{{/each}}{{/each}}' },
          },
          '+1',
        ),
      ).rejects.toMatchObject({ name: 'RenderFailedError', code: 'RENDER_LIMIT' });
    } finally {
      await strictPool.close();
    }
  });

  it('leaves a placeholder the data does not fill as written (a WhatsApp button parameter)', () => {
    expect(fillPlaceholders('https://abc.com/{{1}}/{{ id }}', { id: 7 })).toBe('https://abc.com/{{1}}/7');
    expect(placeholderValues('{{a}} and {{ b.c }}', { a: 1, b: { c: 'x' } })).toEqual(['1', 'x']);
  });
});

describe('POST /messages planning', () => {
  it('normalizes phones to E.164 from any country code spelling, and names the field of an impossible one', () => {
    expect(normalizePhone({ countryCode: '+91', number: '98123 45600' }, 'sms[0].to[0]')).toBe('+919812345600');
    expect(normalizePhone({ countryCode: '1', number: '(555) 123-4567' }, 'sms[0].to[0]')).toBe('+15551234567');
    expect(() => normalizePhone({ countryCode: '1', number: '555' }, 'sms[0].to[1]')).toThrow(/^sms\[0\]\.to\[1\]: /);
  });

  it('gives each message object of a small request its own activity, and batches a large one per channel', () => {
    const small = [1, 2, 3].map((n) => ({ n, channel: 'sms' as const, to: ['+1'] }));
    expect(planMessageBatches(small)).toEqual([
      { channel: 'sms', first: 1, last: 1 },
      { channel: 'sms', first: 2, last: 2 },
      { channel: 'sms', first: 3, last: 3 },
    ]);
    const large = Array.from({ length: 250 }, (_, index) => ({
      n: index + 1,
      channel: index < 150 ? ('email' as const) : ('whatsapp' as const),
      to: ['a', 'b'],
    }));
    expect(planMessageBatches(large)).toEqual([
      { channel: 'email', first: 1, last: 50 },
      { channel: 'email', first: 51, last: 100 },
      { channel: 'email', first: 101, last: 150 },
      { channel: 'whatsapp', first: 151, last: 200 },
      { channel: 'whatsapp', first: 201, last: 250 },
    ]);
  });
});

describe('webhook secrets', () => {
  const env = {
    WEBHOOK_SECRET: 'a-secret-of-enough-length',
    PUBLIC_BASE_URL: 'https://msg.example.com/',
    HTTP_PORT: 3000,
  };

  it('hands providers URLs whose token only this secret verifies', () => {
    const url = new URL(providerWebhookUrl(env, '/webhooks/infobip/reports'));
    expect(url.origin + url.pathname).toBe('https://msg.example.com/webhooks/infobip/reports');
    const token = url.searchParams.get('token');
    expect(verifyWebhookToken(env, '/webhooks/infobip/reports', token)).toBe(true);
    expect(verifyWebhookToken(env, '/webhooks/twilio/status', token)).toBe(false);
    expect(verifyWebhookToken({ WEBHOOK_SECRET: 'another-secret-of-length' }, '/webhooks/infobip/reports', token)).toBe(
      false,
    );
    expect(verifyWebhookToken({ WEBHOOK_SECRET: undefined }, '/webhooks/infobip/reports', token)).toBe(false);
  });

  it('rotates: the first listed secret issues tokens, every listed one verifies, each at least 16 characters', () => {
    const path = '/webhooks/infobip/reports';
    const oldToken = new URL(providerWebhookUrl(env, path)).searchParams.get('token');
    const rotated = { ...env, WEBHOOK_SECRET: `the-new-secret-0123, ${env.WEBHOOK_SECRET}` };
    const newToken = new URL(providerWebhookUrl(rotated, path)).searchParams.get('token');
    expect(newToken).not.toBe(oldToken);
    expect(verifyWebhookToken(rotated, path, oldToken)).toBe(true);
    expect(verifyWebhookToken(rotated, path, newToken)).toBe(true);
    expect(verifyWebhookToken({ WEBHOOK_SECRET: 'the-new-secret-0123' }, path, oldToken)).toBe(false);
    expect(() => parseEnvironment({ WEBHOOK_SECRET: 'the-new-secret-0123,short' })).toThrow(/WEBHOOK_SECRET/);
  });

  it('signs callbacks as docs/os1-messaging.md tells receivers to verify them', () => {
    const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const expected = createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex');
    expect(callbackSignature('k', '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
  });
});

describe('POST /messages addresses', () => {
  it('names the OS1 address pattern itself when an email address does not match it', () => {
    const result = messagesBodySchema.safeParse({
      email: [{ template: 'order processed', to: ['employee@delhivery'] }],
    });
    const issue = result.error?.issues.find((candidate) => candidate.path.join('.') === 'email.0.to.0');
    expect(issue?.message).toBe(
      'must match ^[a-zA-Z0-9._+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,6}$ (the OS1 address pattern)',
    );
  });
});
