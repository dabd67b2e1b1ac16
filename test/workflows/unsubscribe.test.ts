import { insertUsers, person, simMessages, waitFor, type SimMessage } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/** One-click unsubscribe (RFC 8058; docs/preferences.md) on the real stack: the email's header link, as mail clients use it. */
describe('one-click unsubscribe', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ env: { PUBLIC_BASE_URL: 'https://messaging.example.com' } });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
  });

  const send = async (payload: object) => {
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['email'], messageTitle: 'News', messageContent: 'Bye: {{unsubscribeUrl}}', ...payload },
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ sendId: string }>();
  };
  const onlyEmail = async (): Promise<SimMessage> => {
    const emails = await simMessages(stack, 'channel=email');
    expect(emails).toHaveLength(1);
    return emails[0];
  };
  const waitForEmail = () =>
    waitFor(async () => {
      const [email] = await simMessages(stack, 'channel=email');
      return email;
    });
  /** The path of the email's `List-Unsubscribe` link. */
  const linkOf = (email: SimMessage) => {
    const header = email.listHeaders?.['list-unsubscribe'];
    expect(header).toMatch(/^<https:\/\/messaging\.example\.com\/unsubscribe\/[^>]+>$/);
    return new URL(header!.slice(1, -1)).pathname;
  };
  const preferencesOf = async (userId: string) =>
    (await stack.app.inject({ method: 'GET', url: `/users/${userId}/preferences` })).json();
  /** What a mail client sends (RFC 8058): a POST of the raw form body, no API key, no cookie. */
  const oneClick = (path: string) =>
    stack.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });

  it("carries the link in the headers and the body; a GET shows a page and changes nothing, the client's POST unsubscribes", async () => {
    const [userId] = await insertUsers(stack, [person('Reader')]);
    await send({ recipients: [userId], category: 'news' });
    const email = await onlyEmail();
    const path = linkOf(email);
    expect(email.listHeaders?.['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(email.text).toBe(`Bye: https://messaging.example.com${path}`);

    const shown = await stack.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } });
    expect(shown.statusCode).toBe(200);
    expect(shown.headers['content-type']).toMatch(/^text\/html/);
    expect(shown.body).toContain('<form method="post">');
    expect(shown.body).toContain('&#34;news&#34; messages');
    expect((await preferencesOf(userId)).categories).toEqual({});

    const unsubscribed = await oneClick(path);
    expect(unsubscribed.statusCode).toBe(200);
    expect((await preferencesOf(userId)).categories).toEqual({ news: false });
    expect((await oneClick(path)).statusCode).toBe(200);

    await stack.sim('DELETE', '/messages');
    const { sendId } = await send({ recipients: [userId], category: 'news' });
    expect(await simMessages(stack, 'channel=email')).toEqual([]);
    expect((await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json().counts).toEqual({
      email: { skipped: 1 },
    });
  });

  it('turns email off for a send without category', async () => {
    const [userId] = await insertUsers(stack, [person('NoCategory')]);
    await send({ recipients: [userId] });
    expect((await oneClick(linkOf(await onlyEmail()))).statusCode).toBe(200);
    expect(await preferencesOf(userId)).toMatchObject({ channels: { email: false }, categories: {} });
  });

  it('answers a tampered token with a 400 page that changes nothing', async () => {
    const [userId, victim] = await insertUsers(stack, [person('Tamperer'), person('Victim')]);
    await send({ recipients: [userId], category: 'news' });
    const path = linkOf(await onlyEmail());
    const [payload, signature] = path.slice('/unsubscribe/'.length).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, u: victim })).toString('base64url');
    for (const token of [`${forged}.${signature}`, `${payload}.${signature.slice(0, -3)}abc`]) {
      const refused = await stack.app.inject({
        method: 'POST',
        url: `/unsubscribe/${token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain('This link is not valid');
      expect((await oneClick(`/unsubscribe/${token}`)).statusCode).toBe(400);
    }
    expect((await preferencesOf(victim)).updatedAt).toBeNull();
    expect((await preferencesOf(userId)).updatedAt).toBeNull();
  });

  it('puts a raw address of /messages on the email suppression list, and the next message to it is skipped', async () => {
    const created = await stack.app.inject({
      method: 'POST',
      url: '/templates',
      payload: { name: 'digest', mode: 'email', data: { body: 'Digest', subject: 'Digest', format: 'text/plain' } },
    });
    expect(created.statusCode).toBe(201);
    const post = (payload: object) => stack.app.inject({ method: 'POST', url: '/messages', payload });
    const first = await post({ email: [{ template: 'digest', to: ['Leaver@example.com'], category: 'digest' }] });
    expect(first.statusCode).toBe(202);
    const email = await waitForEmail();
    expect((await oneClick(linkOf(email))).statusCode).toBe(200);
    const listed = await stack.app.inject({
      method: 'GET',
      url: '/suppressions?channel=email&address=leaver%40example.com',
    });
    expect(listed.json()).toEqual([expect.objectContaining({ address: 'leaver@example.com', source: 'unsubscribe' })]);

    await stack.sim('DELETE', '/messages');
    const second = await post({ email: [{ template: 'digest', to: ['leaver@example.com'] }] });
    const { requestId } = second.json();
    const finished = await waitFor(async () => {
      const body = (await stack.app.inject({ method: 'GET', url: `/messages/${requestId}` })).json();
      return body.status === 'completed' ? body : undefined;
    });
    expect(finished.messages[0].addresses[0]).toMatchObject({ status: 'skipped', code: 'SUPPRESSED' });
    expect(await simMessages(stack, 'channel=email')).toEqual([]);

    await stack.sim('DELETE', '/messages');
    await post({ email: [{ template: 'digest', to: ['alert@example.com'], critical: true }] });
    expect((await waitForEmail()).listHeaders).toBeUndefined();
  });

  it('offers no unsubscribe link on a critical email', async () => {
    const [userId] = await insertUsers(stack, [person('Alerted')]);
    await send({ recipients: [userId], category: 'news', critical: true, messageContent: 'Alert' });
    expect((await onlyEmail()).listHeaders).toBeUndefined();
  });
});
