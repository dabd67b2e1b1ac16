import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildApp } from '../../api/app';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

const packageVersion = (
  JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }
).version;

/**
 * `GET /` (docs/api.md): a newcomer opening the API's root finds what it is and where its docs and tools are,
 * instead of a 404. It needs no API key: it reveals nothing secret (the name, the version and the docs' paths are
 * public anyway; this machine's tools only in the development profile), which the production case checks.
 */
describe('GET /, the index', () => {
  const KEY = testApiKey('index');
  let stack: TestStack;
  let production: FastifyInstance;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { API_KEYS: KEY } });
    production = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, MESSAGING_PROFILE: 'production' } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
  });
  afterAll(async () => {
    await production?.close();
    await stack?.close();
  });

  it('answers JSON without an API key: the service, its version, the docs, the Temporal UI and the inbox', async () => {
    const answer = await stack.app.inject({ method: 'GET', url: '/' });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.json()).toEqual({
      service: 'Messaging Service',
      version: packageVersion,
      apiDocs: '/documentation',
      openApi: '/documentation/json',
      temporalUi: stack.config.env.TEMPORAL_UI_URL,
      simulatorInbox: new URL('/', stack.config.env.SIMULATOR_URL).href,
    });
    // The paths it names answer, without a key too.
    expect((await stack.app.inject({ method: 'GET', url: '/documentation/json' })).statusCode).toBe(200);
    expect((await stack.app.inject({ method: 'GET', url: '/documentation' })).statusCode).toBeLessThan(400);
  });

  it('answers a browser with the same as a page of links', async () => {
    const page = await stack.app.inject({
      method: 'GET',
      url: '/',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain(`<title>Messaging Service ${packageVersion}</title>`);
    expect(page.body).toContain('<a href="/documentation">API documentation</a>');
    expect(page.body).toContain(`<a href="${stack.config.env.TEMPORAL_UI_URL}">Temporal UI</a>`);
  });

  it("outside the development profile names no host of the deployment's, nor anything secret", async () => {
    const answer = await production.inject({ method: 'GET', url: '/' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({
      service: 'Messaging Service',
      version: packageVersion,
      apiDocs: '/documentation',
      openApi: '/documentation/json',
    });
    const { env } = stack.config;
    for (const value of [
      KEY,
      env.TEMPORAL_CODEC_KEYS,
      env.PROVIDER_CREDENTIALS_KEYS,
      env.WEBHOOK_SECRET,
      env.CUSTOMER_HASH_SECRET,
      env.MONGODB_URL,
      env.TEMPORAL_ADDRESS,
      env.TEMPORAL_UI_URL,
    ])
      expect(answer.body).not.toContain(value);
  });

  it('is in the OpenAPI document, public, with its JSON and its HTML answer', async () => {
    const document = (await stack.app.inject({ method: 'GET', url: '/documentation/json' })).json<{
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: object }> }>>;
    }>();
    const operation = document.paths['/'].get;
    expect(operation.security).toEqual([]);
    expect(Object.keys(operation.responses['200'].content ?? {})).toEqual(['application/json', 'text/html']);
    expect(operation.responses['401']).toBeUndefined();
  });
});
