import { ObjectId } from 'mongodb';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { insertUsers, person, simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * Templates are data, not code (docs/api.md "Rendering"): through `POST /send`, on the real stack, a template that
 * reached the worker's prototypes or held its event loop before is refused at request time, or fails its delivery with
 * `RENDER_LIMIT`; `Object.prototype` stays as it was and the next send is delivered.
 */
describe('templates cannot reach the worker (docs/api.md "Rendering")', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ env: { RENDER_TIMEOUT_MS: '1000' } });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
  });

  const send = (payload: object) => stack.app.inject({ method: 'POST', url: '/send', payload });
  const smsTo = (user: string, messageContent: string, data: Record<string, unknown> = {}) =>
    send({ channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent, data });

  /** The send after a bad one is delivered, rendered as written. */
  async function expectNextSendDelivered(): Promise<void> {
    const [next] = await insertUsers(stack, [person('Next')]);
    const response = await smsTo(next, 'Hello {{user.name}}');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ failures: [], recipients: 1 });
    expect((await simMessages(stack, 'channel=sms')).map((message) => message.body)).toContain('Hello Next');
  }

  it('refuses the prototype-pollution payload at request time, and Object.prototype stays clean', async () => {
    const [user] = await insertUsers(stack, [person('Polluter')]);
    const response = await smsTo(user, `{{merge (get "__proto__" data) (JSONparse '{"accpolZ":"yes"}')}}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/^messageContent is not a valid Handlebars template/),
    });
    expect(Object.prototype).not.toHaveProperty('accpolZ');
    expect(({} as Record<string, unknown>).accpolZ).toBeUndefined();
    await expectNextSendDelivered();
  });

  it('refuses a catastrophic regular expression at request time', async () => {
    const [user] = await insertUsers(stack, [person('Regex')]);
    const response = await smsTo(user, '{{#if (test data.text (toRegex "^(a+)+$"))}}match{{/if}}', {
      text: `${'a'.repeat(26)}!`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/messageContent.*toRegex/);
    await expectNextSendDelivered();
  });

  it('refuses center with 80 million spaces at request time', async () => {
    const [user] = await insertUsers(stack, [person('Center')]);
    const response = await smsTo(user, '{{center user.name 80000000}}');
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/messageContent.*center/);
    await expectNextSendDelivered();
  });

  it("refuses Handlebars' log helper, which would print whole user documents", async () => {
    const [user] = await insertUsers(stack, [person('Logged')]);
    expect((await smsTo(user, '{{log user}}')).statusCode).toBe(400);
  });

  it('refuses a stored template that uses a dropped helper when a send names it', async () => {
    const templateId = new ObjectId();
    // Written straight to the store, as a template saved before the helper was dropped would be.
    await stack.database.templates.insertOne({ _id: templateId, name: 'old', smsMessage: '{{center user.name 9}}' });
    const [user] = await insertUsers(stack, [person('Stored')]);
    const response = await send({ channels: ['sms'], recipients: [user], templateId: templateId.toHexString() });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/smsMessage.*center/);
  });

  it('fails a nested each over a large array with RENDER_LIMIT, without holding the event loop', async () => {
    const [user] = await insertUsers(stack, [person('Nested')]);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const started = Date.now();
    const response = await smsTo(
      user,
      '{{#each data.items}}{{#each @root.data.items}}{{#each @root.data.items}}{{/each}}{{/each}}{{/each}}',
      { items: Array.from({ length: 1000 }, (_, index) => index) },
    );
    loopDelay.disable();
    expect(response.statusCode).toBe(200);
    expect(response.json().failures).toEqual([
      { userId: user, channel: 'sms', code: 'RENDER_LIMIT', error: expect.stringContaining('1000 ms') },
    ]);
    const delivery = await stack.database.deliveries.findOne({ sendId: response.json().sendId });
    expect(delivery).toMatchObject({ status: 'failed', code: 'RENDER_LIMIT', permanent: true });
    // A billion iterations in this process would have held it for minutes; the thread was ended after the budget.
    expect(Date.now() - started).toBeLessThan(15000);
    // The worker (in this process) kept its event loop: heartbeats and other sends were never held for long.
    expect(loopDelay.max / 1e6).toBeLessThan(500);
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(0);
    await expectNextSendDelivered();
  });

  it('answers a preview over the render budget with a 400 naming RENDER_LIMIT, the API carrying on', async () => {
    const created = await stack.app.inject({
      method: 'POST',
      url: '/templates',
      payload: {
        name: 'runaway',
        smsMessage:
          '{{#each data.items}}{{#each @root.data.items}}{{#each @root.data.items}}{{/each}}{{/each}}{{/each}}',
      },
    });
    expect(created.statusCode).toBe(201);
    const preview = await stack.app.inject({
      method: 'POST',
      url: `/templates/${created.json()._id}/preview`,
      payload: { data: { items: Array.from({ length: 1000 }, (_, index) => index) } },
    });
    expect(preview.statusCode).toBe(400);
    expect(preview.json().message).toMatch(/^data: .*RENDER_LIMIT/);
    expect((await stack.app.inject({ method: 'GET', url: `/templates/${created.json()._id}` })).statusCode).toBe(200);
  });

  it('fails a message over the output cap with RENDER_LIMIT', async () => {
    const [user] = await insertUsers(stack, [person('Large')]);
    const response = await smsTo(user, '{{#each data.items}}{{@root.data.text}}{{/each}}', {
      items: Array.from({ length: 200 }, (_, index) => index),
      text: 'x'.repeat(10000),
    });
    expect(response.json().failures).toEqual([
      { userId: user, channel: 'sms', code: 'RENDER_LIMIT', error: expect.stringMatching(/1048576/) },
    ]);
    await expectNextSendDelivered();
  });
});
