import { readUnsubscribeToken } from '../../common/http/unsubscribe-token';
import { simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * A category named by a mode template or a notification (docs/preferences.md) on the real stack: a `/messages` email
 * to a raw address carries it in its one-click unsubscribe link, unless the message names its own.
 */
describe('categories of mode templates and notifications', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      env: { PUBLIC_BASE_URL: 'https://messaging.example.com' },
      service: { criticalCategories: ['security'] },
    });
    const template = (name: string, category?: string) =>
      stack.app.inject({
        method: 'POST',
        url: '/templates',
        payload: {
          name,
          mode: 'email',
          data: { body: 'Hello', subject: 'Hello' },
          ...(category ? { category } : {}),
        },
      });
    expect((await template('weekly news', 'news')).statusCode).toBe(201);
    expect((await template('order shipped', 'orders')).statusCode).toBe(201);
    expect((await template('new login', 'security')).statusCode).toBe(201);
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
  });

  const inject = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  /** The category the one-click link of the only email sent to `to` names. */
  const linkCategory = async (to: string) => {
    const email = await waitFor(async () => (await simMessages(stack, 'channel=email')).find((m) => m.to === to));
    const header = email.listHeaders?.['list-unsubscribe'];
    const token = new URL(header!.slice(1, -1)).pathname.split('/').pop()!;
    return readUnsubscribeToken(stack.config.env, token)?.category ?? null;
  };

  it("stores a mode template's category, answers it and lets a patch change it", async () => {
    const found = await inject('GET', '/templates/by-name/weekly%20news');
    expect(found.json()).toMatchObject({ name: 'weekly news', category: 'news' });
    const patched = await inject('PATCH', `/templates/${found.json()._id}`, { category: 'digest' });
    expect([patched.statusCode, patched.json().category]).toEqual([200, 'digest']);
    await inject('PATCH', `/templates/${found.json()._id}`, { category: 'news' });
    const refused = await inject('POST', '/templates', {
      name: 'bad category',
      mode: 'sms',
      data: { body: 'x' },
      category: 'a.b',
    });
    expect([refused.statusCode, refused.json().message]).toEqual([400, expect.stringMatching(/^category/)]);
  });

  it("carries the template's category in a /messages email's link, the message's own over it", async () => {
    const posted = await inject('POST', '/messages', {
      email: [
        { template: 'weekly news', to: ['reader@example.com'] },
        { template: 'weekly news', to: ['other@example.com'], category: 'promotions' },
      ],
    });
    expect(posted.statusCode).toBe(202);
    expect(await linkCategory('reader@example.com')).toBe('news');
    expect(await linkCategory('other@example.com')).toBe('promotions');
  });

  it('offers no link on an email whose template has a critical category', async () => {
    await inject('POST', '/messages', { email: [{ template: 'new login', to: ['owner@example.com'] }] });
    const email = await waitFor(async () =>
      (await simMessages(stack, 'channel=email')).find((m) => m.to === 'owner@example.com'),
    );
    expect(email.listHeaders).toBeUndefined();
  });

  it("carries a notification's category over its template's, the message's own over both", async () => {
    const register = async (name: string, category?: string) => {
      const created = await inject('POST', '/notifications', {
        appId: 'shop',
        name,
        templates: { email: 'order shipped' },
        ...(category ? { category } : {}),
      });
      expect([created.statusCode, created.json().category]).toEqual([201, category]);
      expect((await inject('POST', `/notifications/${created.json()._id}/enable`)).statusCode).toBe(200);
    };
    await register('shipped, account', 'account');
    await register('shipped');
    const send = (notification: string, message: object) =>
      inject('POST', '/messages/notifications', { notification, email: [message] });
    expect((await send('shipped, account', { to: ['a@example.com'] })).statusCode).toBe(202);
    expect((await send('shipped', { to: ['b@example.com'] })).statusCode).toBe(202);
    expect((await send('shipped, account', { to: ['c@example.com'], category: 'promotions' })).statusCode).toBe(202);
    expect(await linkCategory('a@example.com')).toBe('account');
    expect(await linkCategory('b@example.com')).toBe('orders');
    expect(await linkCategory('c@example.com')).toBe('promotions');
  });
});
