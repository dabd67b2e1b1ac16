import { buildApp } from '../../api/app';
import { startTestStack, type TestStack } from '../support/test-stack';

/** `POST /conversations` names its customer in Temporal by a keyed hash only (docs/whatsapp.md). */
describe('POST /conversations without CUSTOMER_HASH_SECRET', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(() => stack?.close());

  it('answers 503 naming CUSTOMER_HASH_SECRET and starts nothing', async () => {
    const app = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, CUSTOMER_HASH_SECRET: undefined } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/conversations',
        payload: {
          from: '123324242',
          to: { countryCode: '91', number: '9812345600' },
          provider: 'infobip',
          message: { template: 'order delivery otp' },
          acceptedResponses: [
            { messages: ['1'], webhook: { url: 'https://example.com/a', secret: 'accepted-secret' } },
          ],
          webhook: {},
          responseTimeout: 300,
        },
      });
      expect([response.statusCode, response.json()]).toEqual([
        503,
        {
          statusCode: 503,
          error: 'Service Unavailable',
          message: expect.stringMatching(/^CUSTOMER_HASH_SECRET is not set/),
        },
      ]);
    } finally {
      await app.close();
    }
    expect(await stack.database.conversations.countDocuments()).toBe(0);
    expect(await stack.database.conversationLocks.countDocuments()).toBe(0);
  });
});
