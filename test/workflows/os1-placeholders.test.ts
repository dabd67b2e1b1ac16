import { eventually } from '../support/callback-receiver';
import { testApiKey } from '../support/api-keys';
import { simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/** Tenant and application placeholders filling OS1 mode templates, on the real stack. */
describe('OS1 messaging: tenant and app placeholders', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      env: {
        API_KEYS: [
          `${testApiKey('admin-key')}:admin`,
          `${testApiKey('sender')}:send`,
          `${testApiKey('reader')}:read`,
          `${testApiKey('everything')}:send+read+templates+admin`,
        ].join(','),
      },
    });
    const templates = [
      {
        name: 'placeholder email',
        mode: 'email',
        data: {
          body: '{{greeting}} from {{companyName}}, call {{supportPhone}} [tenant {{tenant.companyName}}] [app {{app.companyName}}] #{{orderId}}',
          subject: '{{companyName}} order {{orderId}}',
        },
      },
      { name: 'placeholder sms', mode: 'sms', data: { body: '{{companyName}} {{supportPhone}} #{{orderId}}' } },
    ];
    for (const template of templates) {
      expect((await as('everything')('POST', '/templates', template)).statusCode).toBe(201);
    }
  });
  afterAll(() => stack?.close());

  const as = (key: string) => (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    stack.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${testApiKey(key)}` },
      ...(payload ? { payload } : {}),
    });
  const admin = as('admin-key');
  const sender = as('sender');
  const reader = as('reader');

  /** The text of the one email the simulator received for order `orderId`, once its request completed. */
  async function sentText(requestId: string, orderId: string): Promise<{ subject?: string; text?: string }> {
    await eventually(
      async () => (await reader('GET', `/messages/${requestId}`)).json(),
      (answer) => answer.status === 'completed',
    );
    const sent = (await simMessages(stack)).filter((message) =>
      (message.text ?? message.body)?.includes(`#${orderId}`),
    );
    expect(sent).toHaveLength(1);
    return { subject: sent[0].subject, text: sent[0].text ?? sent[0].body };
  }

  it('is set whole by an admin, read with the read scope, refused to a send-only key (403 naming admin)', async () => {
    expect((await reader('GET', '/placeholders')).json()).toEqual({ scope: 'tenant', values: {}, updatedAt: null });
    for (const [url, scope] of [
      ['/placeholders', 'tenant'],
      ['/apps/billing/placeholders', 'app:billing'],
    ]) {
      const refused = await sender('PUT', url, { values: { companyName: 'Nope' } });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().message).toMatch(/admin/);
      expect((await reader('PUT', url, { values: { companyName: 'Nope' } })).statusCode).toBe(403);

      const set = await admin('PUT', url, { values: { companyName: 'Billing', city: 'Pune' } });
      expect(set.statusCode).toBe(200);
      expect(set.json()).toEqual({
        scope,
        values: { companyName: 'Billing', city: 'Pune' },
        updatedAt: expect.any(String),
      });
      // Replaced whole: a name left out is gone.
      expect((await admin('PUT', url, { values: { city: 'Delhi' } })).json().values).toEqual({ city: 'Delhi' });
      expect((await reader('GET', url)).json()).toMatchObject({ scope, values: { city: 'Delhi' } });
    }
    expect((await reader('GET', '/apps/nobody/placeholders')).json()).toEqual({
      scope: 'app:nobody',
      values: {},
      updatedAt: null,
    });
    expect((await admin('PUT', '/placeholders', { values: {} })).statusCode).toBe(200);
  });

  it.each([
    ['a name that is no placeholder name', { values: { 'order-id': 'x' } }, 'values.order-id: must be a letter'],
    ['a reserved name', { values: { tenant: 'x' } }, 'values.tenant: must not be one of tenant, app, user, data'],
    ['a value that is no string', { values: { companyName: 42 } }, 'values.companyName: '],
    ['a value too long', { values: { companyName: 'x'.repeat(1001) } }, 'values.companyName: '],
    [
      'too many values',
      { values: Object.fromEntries(Array.from({ length: 101 }, (_, index) => [`p${index}`, 'x'])) },
      'values: at most 100 placeholders',
    ],
    ['values not under values', { companyName: 'x' }, 'companyName'],
    ['no values', {}, 'values: '],
  ])('refuses %s with a 400 naming the field, storing nothing', async (_case, body, message) => {
    for (const url of ['/placeholders', '/apps/refused/placeholders']) {
      const before = (await reader('GET', url)).json();
      const answer = await admin('PUT', url, body);
      expect(answer.statusCode).toBe(400);
      expect(answer.json().message).toContain(message);
      expect((await reader('GET', url)).json()).toEqual(before);
    }
  });

  it('fills templates from data over the app over the tenant, and under tenant.* and app.*', async () => {
    await admin('PUT', '/placeholders', {
      values: { companyName: 'Tenant Co', supportPhone: 'T-100', greeting: 'Hello' },
    });
    await admin('PUT', '/apps/shop/placeholders', { values: { companyName: 'Shop Co', supportPhone: 'A-200' } });
    await admin('PUT', '/apps/orders-app/placeholders', { values: { supportPhone: 'N-300' } });

    // A direct send naming its application: data beats the app, the app beats the tenant.
    const direct = await sender('POST', '/messages', {
      appId: 'shop',
      email: [{ template: 'placeholder email', to: ['a@example.com'], data: { supportPhone: 'D-1', orderId: 'P1' } }],
    });
    expect(direct.statusCode).toBe(202);
    expect(await sentText(direct.json().requestId, 'P1')).toEqual({
      subject: 'Shop Co order P1',
      text: 'Hello from Shop Co, call D-1 [tenant Tenant Co] [app Shop Co] #P1',
    });
    expect((await reader('GET', '/messages?appId=shop')).json().map((r: { requestId: string }) => r.requestId)).toEqual(
      [direct.json().requestId],
    );

    // A direct send naming none: the tenant's values only.
    const plain = await sender('POST', '/messages', {
      email: [{ template: 'placeholder email', to: ['b@example.com'], data: { orderId: 'P2' } }],
    });
    expect(await sentText(plain.json().requestId, 'P2')).toEqual({
      subject: 'Tenant Co order P2',
      text: 'Hello from Tenant Co, call T-100 [tenant Tenant Co] [app ] #P2',
    });

    // By notification: its application's values.
    const created = await sender('POST', '/notifications', {
      appId: 'orders-app',
      name: 'placeholder notice',
      templates: { email: 'placeholder email', sms: 'placeholder sms' },
    });
    expect((await admin('POST', `/notifications/${created.json()._id}/enable`)).statusCode).toBe(200);
    const notified = await sender('POST', '/messages/notifications', {
      notification: 'placeholder notice',
      email: [{ to: ['c@example.com'], data: { orderId: 'P3' } }],
      sms: [{ to: [{ countryCode: '1', number: '5551230003' }], data: { orderId: 'P4' } }],
    });
    expect(notified.statusCode).toBe(202);
    const { requestId } = notified.json();
    expect(await sentText(requestId, 'P3')).toEqual({
      subject: 'Tenant Co order P3',
      text: 'Hello from Tenant Co, call N-300 [tenant Tenant Co] [app ] #P3',
    });
    expect((await sentText(requestId, 'P4')).text).toBe('Tenant Co N-300 #P4');

    // Values are read when a request renders: a change reaches the next request.
    await admin('PUT', '/apps/shop/placeholders', { values: { companyName: 'Shop Co 2' } });
    const after = await sender('POST', '/messages', {
      appId: 'shop',
      sms: [{ template: 'placeholder sms', to: [{ countryCode: '1', number: '5551230005' }], data: { orderId: 'P5' } }],
    });
    expect((await sentText(after.json().requestId, 'P5')).text).toBe('Shop Co 2 T-100 #P5');
  });

  it('previews a mode template with the merged values', async () => {
    await admin('PUT', '/placeholders', { values: { companyName: 'Tenant Co', greeting: 'Hi' } });
    await admin('PUT', '/apps/preview-app/placeholders', { values: { companyName: 'Preview Co' } });
    const template = (await reader('GET', '/templates/by-name/placeholder%20email')).json();
    const preview = await reader('POST', `/templates/${template._id}/preview`, {
      appId: 'preview-app',
      data: { orderId: 'V1', supportPhone: 'D-9' },
    });
    expect(preview.statusCode).toBe(200);
    expect(preview.json()).toEqual({
      email: {
        channel: 'email',
        subject: 'Preview Co order V1',
        text: 'Hi from Preview Co, call D-9 [tenant Tenant Co] [app Preview Co] #V1',
        html: expect.any(String),
      },
      placeholders: {
        companyName: 'Preview Co',
        greeting: 'Hi',
        orderId: 'V1',
        supportPhone: 'D-9',
        tenant: { companyName: 'Tenant Co', greeting: 'Hi' },
        app: { companyName: 'Preview Co' },
      },
    });
  });
});
