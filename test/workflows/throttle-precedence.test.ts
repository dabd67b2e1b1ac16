import { ObjectId } from 'mongodb';
import { insertUsers, person } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * Where a send's throttle comes from (docs/preferences.md) on the real stack: the request's, else its template's,
 * else its category's in the configuration (`categoryThrottles`), counted by the same throttle claims.
 */
describe('throttles of a category and of a template', () => {
  let stack: TestStack;
  const throttledTemplate = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack({
      service: { categoryThrottles: { promo: { limit: 1, window: 'PT1H' } } },
    });
    await stack.database.templates.insertOne({
      _id: throttledTemplate,
      name: 'flash sale',
      category: 'promo',
      throttle: { limit: 2, window: 'PT1H', key: 'flash' },
      smsMessage: 'Sale for {{user.name}}',
    });
  });
  afterAll(() => stack.close());

  const inject = (method: 'GET' | 'POST', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  /** The statuses of `count` sends one after the other to the user, with `payload`. */
  const statuses = async (userId: string, count: number, payload: object) => {
    const found: string[] = [];
    for (let n = 0; n < count; n++) {
      const response = await inject('POST', '/send', { channels: ['sms'], recipients: [userId], ...payload });
      expect(response.statusCode).toBe(200);
      const { deliveries } = (await inject('GET', `/sends/${response.json().sendId}/deliveries`)).json();
      found.push(deliveries.map((entry: { status: string; code?: string }) => entry.code ?? entry.status).join());
    }
    return found;
  };
  const promo = { category: 'promo', messageTitle: 'Sale', messageContent: 'Sale' };

  it("throttles a category's sends by the configuration", async () => {
    const [userId] = await insertUsers(stack, [person('Category')]);
    expect(await statuses(userId, 3, promo)).toEqual(['sent', 'THROTTLED', 'THROTTLED']);
    // Critical sends ignore it.
    expect(await statuses(userId, 1, { ...promo, critical: true })).toEqual(['sent']);
  });

  it("takes a template's throttle over its category's", async () => {
    const [userId] = await insertUsers(stack, [person('Template')]);
    expect(await statuses(userId, 3, { templateId: throttledTemplate.toHexString() })).toEqual([
      'sent',
      'sent',
      'THROTTLED',
    ]);
  });

  it("takes the request's throttle over its template's and its category's", async () => {
    const [userId] = await insertUsers(stack, [person('Request')]);
    const throttle = { limit: 3, window: 'PT1H' };
    expect(await statuses(userId, 3, { ...promo, throttle })).toEqual(['sent', 'sent', 'sent']);
    const viaTemplate = { templateId: throttledTemplate.toHexString(), throttle: { ...throttle, key: 'other' } };
    expect(await statuses(userId, 3, viaTemplate)).toEqual(['sent', 'sent', 'sent']);
  });

  it('refuses a template throttle under a minute, naming the field', async () => {
    const refused = await inject('POST', '/templates', {
      name: 'too fast',
      smsMessage: 'x',
      throttle: { limit: 1, window: 'PT30S' },
    });
    expect([refused.statusCode, refused.json().message]).toEqual([400, expect.stringMatching(/^throttle\.window/)]);
  });
});
