import { ObjectId } from 'mongodb';
import { notificationId } from '../../common/store/notifications-repository';
import { modeTemplateId, type ModeTemplateDocument } from '../../common/store/templates-repository';
import { eventually } from '../support/callback-receiver';
import { testApiKey } from '../support/api-keys';
import { simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/** Kept template versions and notifications that send the versions an admin approved, on the real stack. */
describe('OS1 messaging: approved content stays approved', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      env: {
        API_KEYS: [
          `${testApiKey('admin-key')}:admin`,
          `${testApiKey('sender')}:send`,
          `${testApiKey('reader')}:read`,
          `${testApiKey('editor')}:templates`,
        ].join(','),
      },
    });
  });
  afterAll(() => stack?.close());

  const as = (key: string) => (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    stack.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${testApiKey(key)}` },
      ...(payload ? { payload } : {}),
    });
  const admin = as('admin-key');
  const sender = as('sender');
  const reader = as('reader');
  const editor = as('editor');

  const createTemplate = async (template: object) => {
    const created = await editor('POST', '/templates', template);
    expect(created.statusCode).toBe(201);
    return created.json() as { _id: string; version: number };
  };
  const versionsOf = async (id: string, query = '') =>
    (await reader('GET', `/templates/${id}/versions${query}`)).json() as {
      version: number;
      data: { body: string };
    }[];

  /** The texts the simulator received for order `orderId`, once the request completed. */
  async function sentTexts(requestId: string, orderId: string): Promise<string[]> {
    await eventually(
      async () => (await reader('GET', `/messages/${requestId}`)).json(),
      (answer) => answer.status === 'completed',
    );
    return (await simMessages(stack))
      .map((message) => (message.text ?? message.body) as string | undefined)
      .filter((text): text is string => text?.includes(`#${orderId}`) === true)
      .sort();
  }

  it('keeps every version of a mode template, newest first, and numbers a recreated name on', async () => {
    const { _id: id, version } = await createTemplate({
      name: 'versioned sms',
      mode: 'sms',
      data: { body: 'first {{orderId}}' },
    });
    expect(version).toBe(1);
    const edited = await editor('PATCH', `/templates/${id}`, { data: { body: 'second {{orderId}}' } });
    expect(edited.json().version).toBe(2);
    // Neither isActive nor tags nor the same content again is a new version.
    expect((await editor('PATCH', `/templates/${id}`, { isActive: false, tags: ['x'] })).json().version).toBe(2);
    expect((await editor('PATCH', `/templates/${id}`, { data: { body: 'second {{orderId}}' } })).json().version).toBe(
      2,
    );

    const versions = await versionsOf(id);
    expect(versions.map(({ version: each, data }) => [each, data.body])).toEqual([
      [2, 'second {{orderId}}'],
      [1, 'first {{orderId}}'],
    ]);
    expect(versions[0]).toEqual({
      templateId: id,
      name: 'versioned sms',
      mode: 'sms',
      version: 2,
      data: { body: 'second {{orderId}}' },
      createdAt: expect.any(String),
    });
    expect((await versionsOf(id, '?limit=1&skip=1')).map(({ version: each }) => each)).toEqual([1]);

    // Deleted and created again under its name (so its id): its versions go on, never naming other content.
    expect((await editor('DELETE', `/templates/${id}`)).statusCode).toBe(204);
    expect(await createTemplate({ name: 'versioned sms', mode: 'sms', data: { body: 'third' } })).toMatchObject({
      _id: id,
      version: 3,
    });
    expect((await versionsOf(id)).map(({ version: each }) => each)).toEqual([3, 2, 1]);

    // A crash between an edit and the record of its version: the next edit records the content it replaces.
    await stack.database.templateVersions.deleteOne({ _id: `${id}:3` });
    expect((await editor('PATCH', `/templates/${id}`, { data: { body: 'fourth' } })).json().version).toBe(4);
    expect((await versionsOf(id)).map(({ version: each, data }) => [each, data.body])).toEqual([
      [4, 'fourth'],
      [3, 'third'],
      [2, 'second {{orderId}}'],
      [1, 'first {{orderId}}'],
    ]);

    const mia = await createTemplate({ name: 'mia template', smsMessage: 'hello' });
    const miaVersions = await reader('GET', `/templates/${mia._id}/versions`);
    expect([miaVersions.statusCode, miaVersions.json().message]).toEqual([
      404,
      `id: template ${mia._id} is one of Mia's templates, which keep no versions`,
    ]);
    expect((await reader('GET', `/templates/${new ObjectId().toHexString()}/versions`)).statusCode).toBe(404);
  });

  it('sends the versions an enable approved until the next enable; a direct send, the latest', async () => {
    const email = await createTemplate({
      name: 'approval email',
      mode: 'email',
      data: { body: 'email v1 #{{orderId}}', subject: 'order {{orderId}}' },
    });
    await createTemplate({ name: 'approval sms', mode: 'sms', data: { body: 'sms v1 #{{orderId}}' } });
    const created = await sender('POST', '/notifications', {
      appId: 'orders-app',
      name: 'approval notice',
      templates: { email: 'approval email', sms: 'approval sms' },
    });
    const url = `/notifications/${created.json()._id}`;
    expect(created.json().pendingChanges).toEqual({
      email: { template: 'approval email', approvedVersion: null, currentVersion: 1 },
      sms: { template: 'approval sms', approvedVersion: null, currentVersion: 1 },
    });
    const enabled = (await admin('POST', `${url}/enable`)).json();
    expect([enabled.approvedVersions, enabled.pendingChanges]).toEqual([{ email: 1, sms: 1 }, {}]);

    // Edited after the review: the change waits for the next one.
    await editor('PATCH', `/templates/${email._id}`, {
      data: { body: 'email v2 #{{orderId}}', subject: 'order {{orderId}}' },
    });
    const waiting = (await reader('GET', url)).json();
    expect([waiting.approvedVersions, waiting.pendingChanges]).toEqual([
      { email: 1, sms: 1 },
      { email: { template: 'approval email', approvedVersion: 1, currentVersion: 2 } },
    ]);
    let lastRequestId = '';
    const send = async (orderId: string) => {
      const answer = await sender('POST', '/messages/notifications', {
        notification: 'approval notice',
        email: [{ to: [`${orderId}@example.com`], data: { orderId } }],
        sms: [{ to: [{ countryCode: '1', number: `555123${orderId.slice(-4)}` }], data: { orderId } }],
      });
      expect(answer.statusCode).toBe(202);
      lastRequestId = answer.json().requestId;
      return sentTexts(lastRequestId, orderId);
    };
    expect(await send('A0001')).toEqual(['email v1 #A0001', 'sms v1 #A0001']);
    const sent = (await reader('GET', `/messages/${lastRequestId}`)).json();
    expect(
      sent.messages.map(({ channel, templateVersion }: Record<string, unknown>) => [channel, templateVersion]),
    ).toEqual([
      ['sms', 1],
      ['email', 1],
    ]);

    // A direct send (a key of no application) takes the latest.
    const direct = await sender('POST', '/messages', {
      email: [{ template: 'approval email', to: ['direct@example.com'], data: { orderId: 'D0001' } }],
    });
    expect(await sentTexts(direct.json().requestId, 'D0001')).toEqual(['email v2 #D0001']);
    expect((await reader('GET', `/messages/${direct.json().requestId}`)).json().messages[0].templateVersion).toBeNull();

    // The next enable approves what the templates say now.
    const reenabled = (await admin('POST', `${url}/enable`)).json();
    expect([reenabled.approvedVersions, reenabled.pendingChanges]).toEqual([{ email: 2, sms: 1 }, {}]);
    expect(await send('A0002')).toEqual(['email v2 #A0002', 'sms v1 #A0002']);

    // A template gone cannot be approved: the enable is refused and the approval stays as it was.
    await editor('DELETE', `/templates/${email._id}`);
    const refused = await admin('POST', `${url}/enable`);
    expect([refused.statusCode, refused.json().message]).toEqual([
      409,
      'templates.email: template "approval email" is gone, so it cannot be approved',
    ]);
    const gone = (await reader('GET', url)).json();
    expect([gone.approvedVersions, gone.pendingChanges]).toEqual([
      { email: 2, sms: 1 },
      { email: { template: 'approval email', approvedVersion: 2, currentVersion: null } },
    ]);
  });

  it('counts the content of a template stored before versions were kept as its version 1', async () => {
    const now = new Date();
    const legacy: ModeTemplateDocument = {
      _id: modeTemplateId('legacy sms'),
      name: 'legacy sms',
      mode: 'sms',
      data: { body: 'legacy #{{orderId}}' },
      isActive: true,
      tags: [],
      createdAt: now,
      updatedAt: now,
    };
    await stack.database.templates.insertOne(legacy);
    // A notification enabled before versions were kept approved none: it sends the latest until enabled again.
    await stack.database.notifications.insertOne({
      _id: notificationId('legacy notice'),
      appId: 'legacy-app',
      name: 'legacy notice',
      templates: { sms: 'legacy sms' },
      status: 'enabled',
      createdAt: now,
      updatedAt: now,
      reviewedAt: now,
    });
    const id = legacy._id.toHexString();
    const url = `/notifications/${notificationId('legacy notice').toHexString()}`;
    const send = async (orderId: string) => {
      const answer = await sender('POST', '/messages/notifications', {
        notification: 'legacy notice',
        sms: [{ to: [{ countryCode: '1', number: `555987${orderId.slice(-4)}` }], data: { orderId } }],
      });
      expect(answer.statusCode).toBe(202);
      return sentTexts(answer.json().requestId, orderId);
    };

    expect((await reader('GET', `/templates/${id}`)).json().version).toBe(1);
    expect((await reader('GET', url)).json().pendingChanges).toEqual({
      sms: { template: 'legacy sms', approvedVersion: null, currentVersion: 1 },
    });
    await editor('PATCH', `/templates/${id}`, { data: { body: 'edited #{{orderId}}' } });
    expect(await send('L0001')).toEqual(['edited #L0001']);

    expect((await versionsOf(id)).map(({ version, data }) => [version, data.body])).toEqual([
      [2, 'edited #{{orderId}}'],
      [1, 'legacy #{{orderId}}'],
    ]);
    expect((await admin('POST', `${url}/enable`)).json().approvedVersions).toEqual({ sms: 2 });
    await editor('PATCH', `/templates/${id}`, { data: { body: 'unreviewed #{{orderId}}' } });
    expect(await send('L0002')).toEqual(['edited #L0002']);
  });
});
