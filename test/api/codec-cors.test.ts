import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import type { Env } from '../../common/config/config';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * The codec endpoint answers the Temporal UI's CORS preflight (docs/operations.md "Encryption of workflow data"). `npm
 * run dev`'s UI answers at http://localhost:8233 and http://127.0.0.1:8233 alike, and the browser sends the name it was
 * opened at: in the development profile both loopback names are admitted; elsewhere `TEMPORAL_UI_URL`'s origin and
 * `CODEC_CORS_ORIGINS` only.
 */
describe('CORS of the codec endpoint', () => {
  let stack: TestStack;
  const apps: FastifyInstance[] = [];
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await stack?.close();
  });

  /** The stack's API over other environment variables, on the stack's connections. */
  async function appWith(env: Partial<Env>): Promise<FastifyInstance> {
    const app = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, ...env } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    apps.push(app);
    return app;
  }

  /** The origin a preflight from `origin` is allowed, or undefined. */
  async function allowedOrigin(app: FastifyInstance, origin: string): Promise<string | undefined> {
    const answer = await app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(answer.statusCode).toBe(204);
    return answer.headers['access-control-allow-origin'] as string | undefined;
  }

  const uiPort = () => new URL(stack.config.env.TEMPORAL_UI_URL).port;

  it('in the development profile admits the UI at localhost and at 127.0.0.1, and no other origin', async () => {
    expect(new URL(stack.config.env.TEMPORAL_UI_URL).hostname).toBe('127.0.0.1');
    const app = await appWith({ TEMPORAL_UI_URL: `http://localhost:${uiPort()}` });
    for (const ui of [stack.app, app])
      for (const origin of [`http://localhost:${uiPort()}`, `http://127.0.0.1:${uiPort()}`])
        expect(await allowedOrigin(ui, origin)).toBe(origin);
    for (const origin of [
      'http://evil.example',
      `http://localhost:${Number(uiPort()) + 1}`,
      `https://localhost:${uiPort()}`,
    ])
      expect(await allowedOrigin(stack.app, origin)).toBeUndefined();
    // The answer to the request itself too, not only to its preflight.
    const decoded = await stack.app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { origin: `http://localhost:${uiPort()}` },
      payload: { payloads: [] },
    });
    expect(decoded.headers['access-control-allow-origin']).toBe(`http://localhost:${uiPort()}`);
  });

  it("outside it admits TEMPORAL_UI_URL's origin only, and the origins CODEC_CORS_ORIGINS adds", async () => {
    const production = { MESSAGING_PROFILE: 'production', API_AUTH: 'none' } as const;
    const ui = `http://localhost:${uiPort()}`;
    const plain = await appWith({ ...production, TEMPORAL_UI_URL: ui });
    expect(await allowedOrigin(plain, ui)).toBe(ui);
    expect(await allowedOrigin(plain, `http://127.0.0.1:${uiPort()}`)).toBeUndefined();
    const widened = await appWith({
      ...production,
      TEMPORAL_UI_URL: 'https://temporal.example.com',
      CODEC_CORS_ORIGINS: ['https://temporal-ui.internal.example.com'],
    });
    expect(await allowedOrigin(widened, 'https://temporal.example.com')).toBe('https://temporal.example.com');
    expect(await allowedOrigin(widened, 'https://temporal-ui.internal.example.com')).toBe(
      'https://temporal-ui.internal.example.com',
    );
    expect(await allowedOrigin(widened, ui)).toBeUndefined();
  });
});
