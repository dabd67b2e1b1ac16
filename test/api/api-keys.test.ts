import { buildApp } from '../../api/app';
import type { AppConfig } from '../../common/config/config';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

const KEYS = {
  all: testApiKey('all'),
  sender: testApiKey('sender'),
  reader: testApiKey('reader'),
  editor: testApiKey('editor'),
  templater: testApiKey('templater'),
  registrar: testApiKey('registrar'),
  decoder: testApiKey('decoder'),
  callerA: testApiKey('caller-a'),
  callerB: testApiKey('caller-b'),
};
type KeyName = keyof typeof KEYS;

/**
 * API keys with scopes, the per-key rate limit of the sending routes and per-route body limits (docs/configuration.md
 * "Configuration", "API"). The limit counts requests before their body is validated, so invalid bodies (400, nothing
 * started) exercise it without a worker.
 */
describe('API keys: scopes, the rate limit of sending routes, body limits', () => {
  const MAX = 3;
  const rateLimit = { max: MAX, timeWindowMs: 60_000 };
  let secured: TestStack;
  let open: TestStack;
  beforeAll(async () => {
    [secured, open] = await Promise.all([
      startTestStack({
        worker: false,
        env: {
          API_KEYS: [
            KEYS.all,
            `${KEYS.sender}:send`,
            `${KEYS.reader}:read`,
            `${KEYS.editor}:read+admin`,
            `${KEYS.templater}:read+templates`,
            `${KEYS.registrar}:providers`,
            `${KEYS.decoder}:codec`,
            `${KEYS.callerA}:send`,
            KEYS.callerB,
          ].join(', '),
        },
        service: { api: { rateLimit } },
      }),
      startTestStack({ worker: false, service: { api: { rateLimit } } }),
    ]);
  });
  afterAll(() => Promise.all([secured?.close(), open?.close()]));

  const call = (stack: TestStack, method: 'GET' | 'POST' | 'PATCH', url: string, key?: string, payload?: unknown) =>
    stack.app.inject({
      method,
      url,
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  /** As one of `KEYS` by its name, or with what is given as the key (a wrong one), or with none. */
  const as = (name?: KeyName | string) => (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    call(secured, method, url, name !== undefined && name in KEYS ? KEYS[name as KeyName] : name, payload);

  it('gives a bare key send and read only (docs/configuration.md "API keys": bare keys held every scope before)', async () => {
    const all = as('all');
    expect((await all('GET', '/users')).statusCode).toBe(200);
    expect((await all('GET', '/sends')).statusCode).toBe(200);
    // Past the scope check, into validation: the route ran.
    expect((await all('POST', '/send', {})).statusCode).toBe(400);
    const refused = [
      ['POST', '/users', { name: 'Ada' }, 'admin'],
      ['POST', '/templates', { name: 'x', smsMessage: 'Hi' }, 'templates'],
      ['POST', '/providers', {}, 'providers'],
      ['POST', '/codec/decode', { payloads: [] }, 'codec'],
    ] as const;
    for (const [method, url, payload, scope] of refused) {
      const response = await all(method, url, payload);
      expect([url, response.statusCode, response.json().message]).toEqual([
        url,
        403,
        expect.stringContaining(`"${scope}" scope`),
      ]);
    }
  });

  it('splits admin into templates, providers and codec; admin holds all three', async () => {
    const created = await as('templater')('POST', '/templates', { name: 'by-templater', smsMessage: 'Hi' });
    expect(created.statusCode).toBe(201);
    const id = created.json()._id as string;
    expect((await as('templater')('PATCH', `/templates/${id}`, { smsMessage: 'Ho' })).statusCode).toBe(200);
    expect((await as('templater')('POST', '/users', { name: 'x' })).statusCode).toBe(403);
    expect((await as('templater')('POST', '/providers', {})).statusCode).toBe(403);
    expect((await as('registrar')('POST', '/templates', { name: 'x', smsMessage: 'Hi' })).statusCode).toBe(403);
    // Past the scope check, into validation.
    expect((await as('registrar')('POST', '/providers', {})).statusCode).toBe(400);
    expect((await as('registrar')('POST', '/codec/decode', { payloads: [] })).statusCode).toBe(403);
    expect((await as('decoder')('POST', '/codec/decode', { payloads: [] })).statusCode).toBe(200);
    expect((await as('decoder')('GET', '/templates')).statusCode).toBe(403);
    for (const [method, url, payload] of [
      ['POST', '/templates', { name: 'by-admin', smsMessage: 'Hi' }],
      ['POST', '/providers', {}],
      ['POST', '/codec/decode', { payloads: [] }],
      ['POST', '/users', { name: 'Ada' }],
    ] as const)
      expect([url, (await as('editor')(method, url, payload)).statusCode]).toEqual([
        url,
        { '/templates': 201, '/providers': 400, '/codec/decode': 200, '/users': 201 }[url],
      ]);
  });

  it('refuses to boot outside the development profile without API_KEYS, naming it, before connecting to anything', async () => {
    const production: AppConfig = {
      ...open.config,
      env: {
        ...open.config.env,
        MESSAGING_PROFILE: 'production',
        API_KEYS: [],
        MONGODB_URL: 'mongodb://127.0.0.1:1/x',
      },
    };
    await expect(buildApp({ config: production, logger: false })).rejects.toThrow(
      /^API_KEYS: required outside the development profile .*API_AUTH=none/,
    );
  });

  it('with API_AUTH=none on purpose, answers without a key and warns at boot that a gateway must authenticate', async () => {
    const lines: string[] = [];
    const app = await buildApp({
      config: { ...open.config, env: { ...open.config.env, MESSAGING_PROFILE: 'production', API_AUTH: 'none' } },
      database: open.database,
      temporal: open.temporal,
      logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } },
    });
    try {
      expect((await app.inject({ method: 'GET', url: '/users' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
    const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(warnings).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/^API_AUTH=none: no API key is checked/) }),
    );
  });

  it('shows each key of the send scope its own callback secret, and no secret to a key without it', async () => {
    const secretOf = async (name: KeyName) => {
      const response = await as(name)('GET', '/callbacks/secret');
      return response.statusCode === 200 ? (response.json().secret as string) : response.statusCode;
    };
    const [callerA, callerB, reader] = [await secretOf('callerA'), await secretOf('callerB'), await secretOf('reader')];
    expect(callerA).toMatch(/^[0-9a-f]{64}$/);
    expect(callerB).toMatch(/^[0-9a-f]{64}$/);
    expect(callerA).not.toBe(callerB);
    expect(reader).toBe(403);
  });

  it('answers 403 naming the scope a key lacks, in the error shape', async () => {
    const denied = [
      { key: 'reader', method: 'POST', url: '/send', payload: {}, scope: 'send' },
      { key: 'reader', method: 'POST', url: '/saga/send', payload: {}, scope: 'send' },
      { key: 'editor', method: 'POST', url: '/sends/send-x/retry', scope: 'send' },
      { key: 'reader', method: 'POST', url: '/users', payload: { name: 'x' }, scope: 'admin' },
      { key: 'reader', method: 'POST', url: '/templates', payload: { name: 'x' }, scope: 'templates' },
      { key: 'sender', method: 'GET', url: '/sends', scope: 'read' },
      { key: 'sender', method: 'GET', url: '/users', scope: 'read' },
      { key: 'sender', method: 'GET', url: '/templates', scope: 'read' },
    ] as const;
    for (const { key, method, url, scope, ...rest } of denied) {
      const response = await as(key)(method, url, 'payload' in rest ? rest.payload : undefined);
      expect([key, method, url, response.statusCode, response.json()]).toEqual([
        key,
        method,
        url,
        403,
        { statusCode: 403, error: 'Forbidden', message: expect.stringContaining(`"${scope}" scope`) },
      ]);
    }
    expect((await as('reader')('GET', '/templates')).statusCode).toBe(200);
    const created = await as('editor')('POST', '/templates', { name: 'scoped', smsMessage: 'Hi' });
    expect(created.statusCode).toBe(201);
    expect((await as('reader')('POST', `/templates/${created.json()._id}/preview`, { data: {} })).statusCode).toBe(200);
    expect((await as('reader')('PATCH', `/templates/${created.json()._id}`, { smsMessage: 'Ho' })).statusCode).toBe(
      403,
    );
  });

  it('answers 401 to a wrong or missing key, and keeps health and documentation public', async () => {
    for (const key of [undefined, 'nope', 'sender:send']) {
      const response = await as(key)('GET', '/sends');
      expect([key, response.statusCode, response.json()]).toEqual([
        key,
        401,
        { statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/^authorization: /) },
      ]);
    }
    for (const url of ['/-/healthz', '/-/metrics', '/documentation/json'])
      expect([url, (await as()('GET', url)).statusCode]).toEqual([url, 200]);
    // An unknown route is a 404 to any valid key, whatever its scopes.
    expect((await as('sender')('GET', '/nowhere')).statusCode).toBe(404);
  });

  it(`answers the send after ${MAX} of one key 429 with Retry-After, counting every sending route; other keys go on`, async () => {
    const sender = as('sender');
    const answers = [];
    for (const url of ['/send', '/saga/send', '/send']) answers.push((await sender('POST', url, {})).statusCode);
    expect(answers).toEqual([400, 400, 400]);
    for (const url of ['/send', '/saga/send', '/sends/send-x/retry']) {
      const limited = await sender('POST', url, {});
      expect([url, limited.statusCode, limited.json()]).toEqual([
        url,
        429,
        { statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/^rate limit: at most 3 /) },
      ]);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    // Reads are not limited, a wrong key is refused before it counts, and another key has its own count.
    expect((await sender('GET', '/-/healthz')).statusCode).toBe(200);
    expect((await as('wrong')('POST', '/send', {})).statusCode).toBe(401);
    expect((await as('all')('POST', '/send', {})).statusCode).toBe(400);
  });

  it('without API keys, limits each client IP on its own', async () => {
    const from = (remoteAddress: string) =>
      open.app.inject({ method: 'POST', url: '/send', payload: {}, remoteAddress });
    for (let i = 0; i < MAX; i += 1) expect((await from('10.0.0.1')).statusCode).toBe(400);
    const limited = await from('10.0.0.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await from('10.0.0.2')).statusCode).toBe(400);
  });

  it('answers 413 in the error shape past a route’s body limit: 64 KB for users, 5 MB for templates', async () => {
    const big = { name: 'x'.repeat(100 * 1024) };
    const tooLarge = await as('editor')('POST', '/users', big);
    expect([tooLarge.statusCode, tooLarge.json()]).toEqual([
      413,
      { statusCode: 413, error: 'Payload Too Large', message: expect.stringMatching(/^body: /) },
    ]);
    expect((await as('editor')('PATCH', '/users/some-id', big)).statusCode).toBe(413);
    expect((await as('editor')('POST', '/templates', { ...big, smsMessage: 'Hi' })).statusCode).toBe(201);
    expect((await call(open, 'POST', '/users', undefined, big)).statusCode).toBe(413);
  });
});
