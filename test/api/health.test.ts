import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

/** What the dependencies' errors may hold: an internal address, a user, a version. */
const TEMPORAL_ERROR = '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.20.30.40:7233';

/**
 * `GET /-/check-up` (docs/api.md, Health) answers anyone, so it says healthy or not per dependency and nothing
 * more; the dependencies' own errors are for an admin key, at `GET /check-up`.
 */
describe('check-up of the dependencies', () => {
  let stack: TestStack;
  let broken: FastifyInstance;
  const ADMIN = testApiKey('admin');
  const READER = testApiKey('reader');
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { API_KEYS: `${ADMIN}:admin,${READER}:read` } });
    // The stack's Temporal client, but its health probe fails as an unreachable frontend does.
    const workflowService = new Proxy(stack.temporal.workflowService, {
      get: (target, property, receiver) =>
        property === 'getSystemInfo'
          ? () => Promise.reject(new Error(TEMPORAL_ERROR))
          : Reflect.get(target, property, receiver),
    });
    const temporal = Object.create(stack.temporal, { workflowService: { value: workflowService } }) as Client;
    broken = await buildApp({ config: stack.config, database: stack.database, temporal, logger: false });
  });
  afterAll(async () => {
    await broken?.close();
    await stack?.close();
  });

  const get = (app: FastifyInstance, url: string, key?: string) =>
    app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('answers anyone healthy or not per dependency, without the error text', async () => {
    const answer = await get(broken, '/-/check-up');
    expect([answer.statusCode, answer.json()]).toEqual([
      503,
      {
        status: 'KO',
        checks: [
          { name: 'mongodb', healthy: true },
          { name: 'temporal', healthy: false },
        ],
      },
    ]);
    expect(answer.body).not.toContain('10.20.30.40');
    expect(answer.body).not.toContain('UNAVAILABLE');
  });

  it('answers the error text to an admin key only, at GET /check-up', async () => {
    const details = await get(broken, '/check-up', ADMIN);
    expect([details.statusCode, details.json()]).toEqual([
      503,
      {
        status: 'KO',
        checks: [
          { name: 'mongodb', healthy: true },
          { name: 'temporal', healthy: false, error: TEMPORAL_ERROR },
        ],
      },
    ]);
    expect((await get(broken, '/check-up', READER)).statusCode).toBe(403);
    expect((await get(broken, '/check-up')).statusCode).toBe(401);
    const healthy = await get(stack.app, '/check-up', ADMIN);
    expect([healthy.statusCode, healthy.json().status]).toEqual([200, 'OK']);
  });
});
