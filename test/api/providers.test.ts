import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { CredentialsCipher, type EncryptedCredentials } from '../../common/crypto/credentials-cipher';
import { loggerOptions } from '../../common/config/logger';
import { ProvidersRepository } from '../../common/store/providers-repository';
import { verifyWebhookToken } from '../../common/http/webhook-urls';
import { SEED_INFOBIP, SEED_SES } from '../support/seed-004';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

/** Secret values of credentials no answer, stored document or log line may hold. */
const SECRETS = ['yourAccessKeyId', 'yourSecretAccessKey', 'your client id', 'your client secret'];

const twilio = (name: string, extra: object = {}) => ({
  name,
  providerType: 'twilio',
  channel: 'sms',
  credentials: { baseUrl: 'http://127.0.0.1:4010', accountSid: 'ACregistered', authToken: `token-${name}` },
  ...extra,
});

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

describe('the provider registry /providers', () => {
  let stack: TestStack;
  const extraApps: FastifyInstance[] = [];
  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      env: {
        API_KEYS: `${testApiKey('admin-key')}:admin+read, ${testApiKey('reader')}:read, ${testApiKey('sender')}:send`,
      },
    });
  });
  afterAll(async () => {
    await Promise.all(extraApps.map((app) => app.close()));
    await stack?.close();
  });

  const call = (app: FastifyInstance, key: string) => (method: Method, url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${testApiKey(key)}` },
      ...(payload ? { payload } : {}),
    });
  const admin = (method: Method, url: string, payload?: object) => call(stack.app, 'admin-key')(method, url, payload);
  const reader = (method: Method, url: string) => call(stack.app, 'reader')(method, url);
  const stored = (name: string) => stack.database.providers.findOne({ _id: name as never });
  const repository = () => new ProvidersRepository(stack.database);

  /** The stack's API with other environment variables (keys rotated or unset), logging to `lines` if given. */
  async function appWith(env: Record<string, string | undefined>, lines?: string[]): Promise<FastifyInstance> {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines?.push(String(chunk));
        done();
      },
    });
    const app = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, ...env } },
      database: stack.database,
      temporal: stack.temporal,
      logger: lines ? { ...loggerOptions('trace'), stream } : false,
    });
    extraApps.push(app);
    return app;
  }

  it("registers the seed's samples as written: the type's only channel, the WhatsApp inbound webhook URL", async () => {
    const ses = await admin('POST', '/providers', SEED_SES);
    expect(ses.statusCode).toBe(201);
    const sesProvider = {
      name: 'aws ses external',
      providerType: 'ses',
      channel: 'email',
      isActive: true,
      isTenantDefault: true,
      credentialFields: ['accessKeyId', 'projectId', 'region', 'secretAccessKey'],
      // The HTTPS endpoint of the SNS subscription its configuration set's events go to.
      eventsWebhookUrl: expect.stringMatching(
        /^http:\/\/localhost:3000\/webhooks\/aws\/events\?token=[0-9a-f]{32}&provider=aws%20ses%20external$/,
      ),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    };
    expect(ses.json()).toEqual({ ...sesProvider, data: sesProvider, request: expect.any(Object) });
    const infobip = await admin('POST', '/providers', SEED_INFOBIP);
    expect(infobip.statusCode).toBe(201);
    const path = '/webhooks/whatsapp/test%20infobip/communications';
    expect(infobip.json()).toMatchObject({
      channel: 'whatsapp',
      isTenantDefault: true,
      credentialFields: ['apiBaseUrl', 'clientId', 'clientSecret'],
      inboundWebhookUrl: expect.stringMatching(
        /^http:\/\/localhost:3000\/webhooks\/whatsapp\/test%20infobip\/communications\?token=[0-9a-f]{32}$/,
      ),
    });
    const token = new URL(infobip.json().inboundWebhookUrl).searchParams.get('token');
    expect(verifyWebhookToken(stack.config.env, path, token)).toBe(true);
    // The worker's reads (the lead's POST /messages): by name, and the channel's default.
    expect((await repository().tenantDefault('email'))?.name).toBe('aws ses external');
    expect((await repository().tenantDefault('whatsapp'))?.name).toBe('test infobip');
    expect(await repository().tenantDefault('sms')).toBeNull();
    expect((await repository().get('test infobip'))?.providerType).toBe('infobip');
  });

  it("answers a registration in the OS1 envelope: data and the request, credentials redacted, today's fields kept", async () => {
    const webhookSecret = 'envelope-webhook-secret-0123456789';
    const registered = await admin('POST', '/providers?source=os1', {
      ...SEED_INFOBIP,
      name: 'enveloped infobip',
      isTenantDefault: false,
      inboundWebhook: { url: 'https://shop.example.com/inbound', secret: webhookSecret },
    });
    expect(registered.statusCode).toBe(201);
    const answer = registered.json();
    expect(answer.data).toMatchObject({
      name: 'enveloped infobip',
      inboundWebhookUrl: expect.stringContaining('/webhooks/whatsapp/enveloped%20infobip/communications?token='),
    });
    // The fields of the answer before the envelope, for the clients that read them.
    const { data, request, ...flat } = answer;
    expect(flat).toEqual(data);
    expect(request).toEqual({
      uri: '/providers',
      method: 'POST',
      queryString: 'source=os1',
      body: {
        name: 'enveloped infobip',
        providerType: 'infobip',
        credentials: { clientId: '[redacted]', clientSecret: '[redacted]', apiBaseUrl: '[redacted]' },
        isActive: true,
        isTenantDefault: false,
        inboundWebhook: { url: 'https://shop.example.com/inbound', secret: '[redacted]' },
      },
    });
    for (const secret of [...SECRETS, webhookSecret, 'https://api.infobip.com'])
      expect(registered.body).not.toContain(secret);
    // A read answers the provider as before, unenveloped.
    const read = (await reader('GET', '/providers/enveloped%20infobip')).json();
    expect([read.data, read.request, read.name]).toEqual([undefined, undefined, 'enveloped infobip']);
    expect((await admin('DELETE', '/providers/enveloped%20infobip')).statusCode).toBe(204);
  });

  it('registers an array all or nothing, every item checked first, a refusal naming its index', async () => {
    const batch = [twilio('batch one'), twilio('batch two', { channel: 'voice', isTenantDefault: true })];
    const registered = await admin('POST', '/providers', batch);
    expect(registered.statusCode).toBe(201);
    expect(registered.json()).toEqual({
      data: [
        expect.objectContaining({ name: 'batch one', channel: 'sms', isTenantDefault: false }),
        expect.objectContaining({ name: 'batch two', channel: 'voice', isTenantDefault: true }),
      ],
      request: {
        uri: '/providers',
        method: 'POST',
        queryString: '',
        body: batch.map((item) => ({
          ...item,
          credentials: { baseUrl: '[redacted]', accountSid: '[redacted]', authToken: '[redacted]' },
          isActive: true,
          isTenantDefault: item.name === 'batch two',
        })),
      },
    });
    expect(registered.body).not.toContain('token-batch');
    expect((await repository().tenantDefault('voice'))?.name).toBe('batch two');

    const refusals: [object[], number, string][] = [
      [[twilio('refused a'), { ...twilio('refused b'), credentials: {} }], 400, '1.credentials.baseUrl: '],
      [[twilio('refused a'), twilio('refused b', { channel: 'email' })], 400, '1.channel: twilio cannot serve email'],
      [[twilio('refused a'), { name: 'refused b' }], 400, '1.providerType: '],
      [[twilio('refused a'), twilio('refused a')], 400, '1.name: item 0 has this name too'],
      [
        [twilio('refused a', { isTenantDefault: true, channel: 'voice' }), twilio('refused b', { channel: 'sms' })],
        409,
        // Stored, then refused by the store's claim of the voice default: the first item is removed again.
        '0.isTenantDefault: voice has a tenant default provider, "batch two"',
      ],
      [
        [twilio('refused a'), twilio('refused b'), twilio('batch one')],
        409,
        '2.name: a provider named "batch one" exists',
      ],
      [
        [twilio('refused a'), twilio('refused b', { isTenantDefault: true, channel: 'voice' })],
        409,
        '1.isTenantDefault: voice has a tenant default provider, "batch two"',
      ],
      [[], 400, 'body: Too small'],
    ];
    // Each issue of an item names its index.
    const unset = await admin('POST', '/providers', [twilio('refused a'), { ...twilio('refused b'), credentials: {} }]);
    expect(unset.json().message).toMatch(/^1\.credentials\.baseUrl: .*; 1\.credentials\.accountSid: /);
    for (const [body, status, message] of refusals) {
      const refused = await admin('POST', '/providers', body);
      expect([refused.statusCode, refused.json().message]).toEqual([status, expect.stringContaining(message)]);
      expect(refused.json().message.startsWith(message)).toBe(true);
      expect(await stored('refused a')).toBeNull();
      expect(await stored('refused b')).toBeNull();
    }
    expect((await repository().tenantDefault('voice'))?.name).toBe('batch two');
    for (const name of ['batch%20one', 'batch%20two'])
      expect((await admin('DELETE', `/providers/${name}`)).statusCode).toBe(204);
  });

  it('stores at most one of concurrent arrays that share names, and never a part of one', async () => {
    for (let round = 0; round < 5; round++) {
      const [p, q] = [`race p${round}`, `race q${round}`];
      const answers = await Promise.all([
        admin('POST', '/providers', [twilio(p), twilio(q)]),
        admin('POST', '/providers', [twilio(q), twilio(p)]),
      ]);
      const statuses = answers.map((answer) => answer.statusCode).sort();
      expect([
        [201, 409],
        [409, 409],
      ]).toContainEqual(statuses);
      const kept = await Promise.all([stored(p), stored(q)]);
      const winner = answers.findIndex((answer) => answer.statusCode === 201);
      if (winner === -1) expect(kept).toEqual([null, null]);
      else {
        expect(kept.map((doc) => doc?.name)).toEqual([p, q]);
        expect(answers[winner].json().data.map((provider: { name: string }) => provider.name)).toEqual(
          winner === 0 ? [p, q] : [q, p],
        );
      }
      for (const name of [p, q]) await admin('DELETE', `/providers/${encodeURIComponent(name)}`);
    }
  });

  it('never answers credentials, stores none in the clear, and decrypts them with the configured keys', async () => {
    const answers = [
      await reader('GET', '/providers'),
      await reader('GET', '/providers/aws%20ses%20external'),
      await reader('GET', '/providers/test%20infobip'),
      await admin('PATCH', '/providers/aws%20ses%20external', { isActive: true }),
    ];
    for (const answer of answers) {
      expect(answer.statusCode).toBe(200);
      for (const secret of SECRETS) expect(answer.body).not.toContain(secret);
      expect(answer.body).not.toContain('"credentials"');
    }
    expect(answers[0].json().map((provider: { name: string }) => provider.name)).toEqual([
      'aws ses external',
      'test infobip',
    ]);
    const cipher = new CredentialsCipher(stack.config.env.PROVIDER_CREDENTIALS_KEYS);
    for (const [name, sample] of [
      ['aws ses external', SEED_SES],
      ['test infobip', SEED_INFOBIP],
    ] as const) {
      const document = await stored(name);
      const raw = JSON.stringify(document);
      for (const secret of SECRETS) expect(raw).not.toContain(secret);
      const credentials = document!.credentials as EncryptedCredentials;
      expect(credentials).toEqual({
        keyId: 'dev',
        iv: expect.any(String),
        tag: expect.any(String),
        data: expect.any(String),
        provider: name,
      });
      expect(cipher.decrypt(credentials, name)).toEqual(sample.credentials);
      // Bound to the provider: copied into another provider's document, they do not decrypt.
      expect(() => cipher.decrypt(credentials, 'another')).toThrow(/belong to the provider that stored them/);
      expect(() => cipher.decrypt({ ...credentials, provider: 'another' }, 'another')).toThrow(/do not decrypt/);
    }
  });

  it('writes no credential to the log, at trace, whether accepted or refused', async () => {
    const lines: string[] = [];
    const app = await appWith({}, lines);
    const logged = call(app, 'admin-key');
    expect(
      (await logged('POST', '/providers', { ...SEED_SES, name: 'logged', isTenantDefault: false })).statusCode,
    ).toBe(201);
    const refused = await logged('POST', '/providers', {
      ...SEED_SES,
      name: 'logged refused',
      credentials: { ...SEED_SES.credentials, region: 'yourSecretAccessKey' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).not.toContain('yourSecretAccessKey');
    expect((await logged('PATCH', '/providers/logged', { credentials: SEED_SES.credentials })).statusCode).toBe(200);
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of SECRETS) expect(lines.join('')).not.toContain(secret);
  });

  it('rotates keys: a document encrypted with the old key decrypts after a new key is put first', async () => {
    const oldKeys = stack.config.env.PROVIDER_CREDENTIALS_KEYS!;
    const rotatedKeys = `new:${randomBytes(32).toString('base64')},${oldKeys}`;
    const rotated = call(await appWith({ PROVIDER_CREDENTIALS_KEYS: rotatedKeys }), 'admin-key');
    const created = await rotated('POST', '/providers', twilio('rotated'));
    expect(created.statusCode).toBe(201);
    const newDocument = (await stored('rotated'))!.credentials as EncryptedCredentials;
    const oldDocument = (await stored('aws ses external'))!.credentials as EncryptedCredentials;
    expect([newDocument.keyId, oldDocument.keyId]).toEqual(['new', 'dev']);
    const cipher = new CredentialsCipher(rotatedKeys);
    expect(cipher.decrypt(oldDocument, 'aws ses external')).toEqual(SEED_SES.credentials);
    expect(cipher.decrypt(newDocument, 'rotated')).toMatchObject({ authToken: 'token-rotated' });
    expect(() => new CredentialsCipher(oldKeys).decrypt(newDocument, 'rotated')).toThrow(/no key "new"/);
    // Replacing the credentials re-encrypts them under the new key.
    expect(
      (await rotated('PATCH', '/providers/aws%20ses%20external', { credentials: SEED_SES.credentials })).statusCode,
    ).toBe(200);
    expect(((await stored('aws ses external'))!.credentials as EncryptedCredentials).keyId).toBe('new');
    expect((await rotated('DELETE', '/providers/rotated')).statusCode).toBe(204);
  });

  it('answers 503 naming PROVIDER_CREDENTIALS_KEYS when unset, and stores nothing', async () => {
    const keyless = call(await appWith({ PROVIDER_CREDENTIALS_KEYS: undefined }), 'admin-key');
    const before = await stack.database.providers.countDocuments();
    const created = await keyless('POST', '/providers', twilio('keyless'));
    expect([created.statusCode, created.json()]).toEqual([
      503,
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringMatching(/^PROVIDER_CREDENTIALS_KEYS is not set/),
      },
    ]);
    const patched = await keyless('PATCH', '/providers/aws%20ses%20external', { credentials: SEED_SES.credentials });
    expect([patched.statusCode, patched.json().message]).toEqual([
      503,
      expect.stringMatching(/^PROVIDER_CREDENTIALS_KEYS/),
    ]);
    expect(await stack.database.providers.countDocuments()).toBe(before);
    // What needs no key still works.
    expect((await keyless('PATCH', '/providers/aws%20ses%20external', { isActive: true })).statusCode).toBe(200);
  });

  it('refuses a WhatsApp provider without WEBHOOK_SECRET, which its inbound webhook URL needs, naming it', async () => {
    const unsigned = call(await appWith({ WEBHOOK_SECRET: undefined }), 'admin-key');
    const created = await unsigned('POST', '/providers', {
      ...SEED_INFOBIP,
      name: 'no webhook',
      isTenantDefault: false,
    });
    expect([created.statusCode, created.json().message]).toEqual([
      503,
      expect.stringMatching(/^WEBHOOK_SECRET is not set/),
    ]);
    expect(await stored('no webhook')).toBeNull();
    // Reads answer without the URL rather than failing.
    const read = await unsigned('GET', '/providers/test%20infobip');
    expect([read.statusCode, read.json().inboundWebhookUrl]).toEqual([200, undefined]);
  });

  it('lets exactly one of concurrent creates become the default of a channel', async () => {
    const names = Array.from({ length: 8 }, (_, index) => `racer ${index}`);
    const answers = await Promise.all(
      names.map((name) => admin('POST', '/providers', twilio(name, { isTenantDefault: true }))),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(7);
    const winner = names[statuses.indexOf(201)];
    for (const answer of answers.filter((each) => each.statusCode === 409))
      expect(answer.json().message).toMatch(/^isTenantDefault: sms has a tenant default provider/);
    expect(await stack.database.providers.countDocuments({ _id: { $in: names } as never })).toBe(1);
    expect(await stack.database.tenantDefaults.findOne({ _id: 'sms' })).toEqual({ _id: 'sms', provider: winner });

    // Concurrent patches of existing providers: one wins again.
    const voice = ['voice a', 'voice b', 'voice c', 'voice d'];
    for (const name of voice)
      expect((await admin('POST', '/providers', twilio(name, { channel: 'voice' }))).statusCode).toBe(201);
    const patches = await Promise.all(
      voice.map((name) => admin('PATCH', `/providers/${encodeURIComponent(name)}`, { isTenantDefault: true })),
    );
    expect(patches.map((answer) => answer.statusCode).sort()).toEqual([200, 409, 409, 409]);
    const listed = (await reader('GET', '/providers?channel=voice')).json() as {
      name: string;
      isTenantDefault: boolean;
    }[];
    expect(listed.filter((provider) => provider.isTenantDefault)).toHaveLength(1);
    expect(listed.filter((provider) => !provider.isTenantDefault)).toHaveLength(3);
  });

  it('keeps one default per channel: a second is a 409 naming the first, freed by PATCH false and by DELETE', async () => {
    const holder = (await repository().tenantDefault('sms'))!.name;
    const second = await admin('POST', '/providers', twilio('second default', { isTenantDefault: true }));
    expect([second.statusCode, second.json()]).toEqual([
      409,
      { statusCode: 409, error: 'Conflict', message: expect.stringContaining(`"${holder}"`) },
    ]);
    expect(await stored('second default')).toBeNull();
    expect((await admin('POST', '/providers', twilio('second default'))).statusCode).toBe(201);
    const refused = await admin('PATCH', '/providers/second%20default', { isTenantDefault: true, isActive: false });
    expect(refused.statusCode).toBe(409);
    // A refused patch changes nothing of what it carried.
    expect((await reader('GET', '/providers/second%20default')).json()).toMatchObject({
      isActive: true,
      isTenantDefault: false,
    });

    const freed = await admin('PATCH', `/providers/${encodeURIComponent(holder)}`, { isTenantDefault: false });
    expect([freed.statusCode, freed.json().isTenantDefault]).toEqual([200, false]);
    expect(await repository().tenantDefault('sms')).toBeNull();
    const claimed = await admin('PATCH', '/providers/second%20default', { isTenantDefault: true });
    expect([claimed.statusCode, claimed.json().isTenantDefault]).toEqual([200, true]);
    // Asking again is no conflict with itself.
    expect((await admin('PATCH', '/providers/second%20default', { isTenantDefault: true })).statusCode).toBe(200);

    expect((await admin('DELETE', '/providers/second%20default')).statusCode).toBe(204);
    expect(await stack.database.tenantDefaults.findOne({ _id: 'sms' })).toBeNull();
    expect((await admin('POST', '/providers', twilio('third default', { isTenantDefault: true }))).statusCode).toBe(
      201,
    );
    expect((await repository().tenantDefault('sms'))?.name).toBe('third default');
  });

  it('takes over a default whose provider is gone (a crash between two writes)', async () => {
    await stack.database.tenantDefaults.insertOne({ _id: 'push', provider: 'ghost' });
    expect(await repository().tenantDefault('push')).toBeNull();
    const fcm = await admin('POST', '/providers', {
      name: 'fcm default',
      providerType: 'fcm',
      credentials: {
        baseUrl: 'http://127.0.0.1:4010',
        tokenUrl: 'http://127.0.0.1:4010/token',
        projectId: 'p',
        serviceAccount: { client_email: 'sa@example.com', private_key: 'not a real key' },
      },
      isTenantDefault: true,
    });
    expect([fcm.statusCode, fcm.json().channel, fcm.json().isTenantDefault]).toEqual([201, 'push', true]);
    expect((await repository().tenantDefault('push'))?.name).toBe('fcm default');
  });

  it('refuses bad input naming the field, and stores nothing', async () => {
    const before = await stack.database.providers.countDocuments();
    const { secretAccessKey: _omitted, ...withoutSecret } = SEED_SES.credentials;
    const ses = (credentials: object, extra: object = {}) => ({
      ...SEED_SES,
      name: 'bad',
      isTenantDefault: false,
      credentials,
      ...extra,
    });
    const refused: [object, RegExp][] = [
      [ses(withoutSecret), /^credentials\.secretAccessKey: /],
      [ses({ ...SEED_SES.credentials, region: 'ap south 1' }), /^credentials\.region: /],
      [ses({ ...SEED_SES.credentials, secretAccesKey: 'x' }), /^credentials: .*secretAccesKey/],
      [ses(SEED_SES.credentials, { providerType: 'sendgrid' }), /^providerType: /],
      [ses(SEED_SES.credentials, { channel: 'sms' }), /^channel: ses cannot serve sms/],
      [ses(SEED_SES.credentials, { credentials: 'secret' }), /^credentials: /],
      [ses(SEED_SES.credentials, { name: '' }), /^name: /],
      [ses(SEED_SES.credentials, { isTenantDefault: 'yes' }), /^isTenantDefault: /],
      [ses(SEED_SES.credentials, { isActive: null }), /^isActive: /],
      [ses(SEED_SES.credentials, { credential: {} }), /credential/],
      [{ ...twilio('bad'), channel: undefined }, /^channel: required, twilio serves sms and voice/],
      [{ ...twilio('bad'), channel: 'push' }, /^channel: twilio cannot serve push/],
      [
        {
          ...SEED_INFOBIP,
          name: 'bad',
          isTenantDefault: false,
          credentials: { ...SEED_INFOBIP.credentials, apiKey: 'k' },
        },
        /^credentials\.clientId: give apiKey or clientId and clientSecret/,
      ],
      [
        { ...SEED_INFOBIP, name: 'bad', isTenantDefault: false, credentials: { clientId: 'a', clientSecret: 'b' } },
        /^credentials\.baseUrl: /,
      ],
    ];
    for (const [payload, message] of refused) {
      const response = await admin('POST', '/providers', payload);
      expect([payload, response.statusCode, response.json()]).toEqual([
        payload,
        400,
        { statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) },
      ]);
      for (const secret of SECRETS) expect(response.body).not.toContain(secret);
    }
    const duplicate = await admin('POST', '/providers', { ...SEED_SES, isTenantDefault: false });
    expect([duplicate.statusCode, duplicate.json().message]).toEqual([
      409,
      'name: a provider named "aws ses external" exists',
    ]);
    const patch = await admin('PATCH', '/providers/aws%20ses%20external', { credentials: { accessKeyId: 'x' } });
    expect([patch.statusCode, patch.json().message]).toEqual([
      400,
      expect.stringMatching(/^credentials\.secretAccessKey: /),
    ]);
    const rename = await admin('PATCH', '/providers/aws%20ses%20external', { name: 'renamed' });
    expect([rename.statusCode, rename.json().message]).toEqual([400, expect.stringMatching(/name/)]);
    expect(await stack.database.providers.countDocuments()).toBe(before);
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const missing = await admin(method, '/providers/nobody', method === 'PATCH' ? { isActive: false } : undefined);
      expect([method, missing.statusCode, missing.json().message]).toEqual([
        method,
        404,
        'name: no provider is named "nobody"',
      ]);
    }
  });

  it('refuses credentialsPath and endpoint (configuration only) and, in production, hosts not of the type', async () => {
    const before = await stack.database.providers.countDocuments();
    const fcm = {
      name: 'fcm reads files',
      providerType: 'fcm',
      credentials: {
        baseUrl: 'https://fcm.googleapis.com',
        tokenUrl: 'https://oauth2.googleapis.com/token',
        projectId: 'p',
        credentialsPath: '/etc/messaging/other-tenant-key.json',
      },
    };
    const ses = { ...SEED_SES, name: 'ses elsewhere', isTenantDefault: false };
    const production = await appWith({ MESSAGING_PROFILE: 'production' });
    const refusedEverywhere: [object, string][] = [
      [fcm, 'credentials.credentialsPath: may be set in the configuration only'],
      [
        { ...ses, credentials: { ...SEED_SES.credentials, endpoint: 'http://169.254.169.254/' } },
        'credentials.endpoint',
      ],
    ];
    for (const app of [stack.app, production]) {
      for (const [payload, message] of refusedEverywhere) {
        const response = await call(app, 'admin-key')('POST', '/providers', payload);
        expect([response.statusCode, response.json().message]).toEqual([400, expect.stringContaining(message)]);
      }
      const patch = await call(app, 'admin-key')('PATCH', '/providers/aws%20ses%20external', {
        credentials: { ...SEED_SES.credentials, endpoint: 'http://10.0.0.1' },
      });
      expect([patch.statusCode, patch.json().message]).toEqual([400, expect.stringContaining('credentials.endpoint')]);
    }
    // The development profile's simulator is at 127.0.0.1; production takes the type's own hosts only.
    const atSimulator = await call(production, 'admin-key')('POST', '/providers', twilio('twilio at loopback'));
    expect([atSimulator.statusCode, atSimulator.json().message]).toEqual([
      400,
      expect.stringMatching(/^credentials\.baseUrl: 127\.0\.0\.1 is not a twilio host/),
    ]);
    const lookalike = twilio('twilio lookalike', {
      credentials: { ...twilio('x').credentials, baseUrl: 'https://api.twilio.com.example.net' },
    });
    expect((await call(production, 'admin-key')('POST', '/providers', lookalike)).statusCode).toBe(400);
    expect(await stack.database.providers.countDocuments()).toBe(before);
    const real = twilio('twilio in production', {
      credentials: { ...twilio('x').credentials, baseUrl: 'https://api.twilio.com' },
    });
    expect((await call(production, 'admin-key')('POST', '/providers', real)).statusCode).toBe(201);
    // The configuration widens the list of a type.
    const widened = await buildApp({
      config: {
        env: { ...stack.config.env, MESSAGING_PROFILE: 'production' },
        service: { ...stack.config.service, registeredProviders: { allowedHosts: { twilio: ['127.0.0.1'] } } },
      },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    extraApps.push(widened);
    expect((await call(widened, 'admin-key')('POST', '/providers', twilio('twilio via proxy'))).statusCode).toBe(201);
    await admin('DELETE', '/providers/twilio%20in%20production');
    await admin('DELETE', '/providers/twilio%20via%20proxy');
  });

  it("keeps a WhatsApp provider's default inbound webhook write-only: its secret encrypted, never answered", async () => {
    const webhookSecret = 'inbound-webhook-secret-0123456789';
    const created = await admin('POST', '/providers', {
      ...SEED_INFOBIP,
      name: 'inbound infobip',
      isTenantDefault: false,
      inboundWebhook: { url: 'https://shop.example.com/whatsapp/inbound', secret: webhookSecret },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().inboundWebhook).toEqual({ url: 'https://shop.example.com/whatsapp/inbound' });
    const read = await reader('GET', '/providers/inbound%20infobip');
    expect(read.json().inboundWebhook).toEqual({ url: 'https://shop.example.com/whatsapp/inbound' });
    const document = await stored('inbound infobip');
    for (const answer of [created.body, read.body, (await reader('GET', '/providers')).body, JSON.stringify(document)])
      expect(answer).not.toContain(webhookSecret);
    const cipher = new CredentialsCipher(stack.config.env.PROVIDER_CREDENTIALS_KEYS);
    const storedWebhook = document!.inboundWebhook as { url: string; secret: EncryptedCredentials };
    expect(cipher.decrypt(storedWebhook.secret, 'inbound infobip')).toEqual({ secret: webhookSecret });

    const replaced = await admin('PATCH', '/providers/inbound%20infobip', {
      inboundWebhook: { url: 'http://127.0.0.1:9/inbound', secret: 'another-secret-0123456789' },
    });
    expect([replaced.statusCode, replaced.json().inboundWebhook]).toEqual([200, { url: 'http://127.0.0.1:9/inbound' }]);
    // Other fields patched alone leave it as it is; null removes it.
    expect((await admin('PATCH', '/providers/inbound%20infobip', { isActive: false })).json().inboundWebhook).toEqual({
      url: 'http://127.0.0.1:9/inbound',
    });
    const removed = await admin('PATCH', '/providers/inbound%20infobip', { inboundWebhook: null });
    expect([removed.statusCode, 'inboundWebhook' in removed.json()]).toEqual([200, false]);
    expect((await stored('inbound infobip'))!.inboundWebhook).toBeUndefined();

    const refused: [Method, string, object, RegExp][] = [
      [
        'POST',
        '/providers',
        twilio('sms with inbound', { inboundWebhook: { url: 'https://a.example', secret: webhookSecret } }),
        /^inboundWebhook: only a whatsapp provider receives inbound messages/,
      ],
      [
        'PATCH',
        '/providers/aws%20ses%20external',
        { inboundWebhook: { url: 'https://a.example', secret: webhookSecret } },
        /^inboundWebhook: only a whatsapp provider receives inbound messages/,
      ],
      [
        'PATCH',
        '/providers/inbound%20infobip',
        { inboundWebhook: { url: 'ftp://a.example', secret: webhookSecret } },
        /^inboundWebhook\.url: /,
      ],
      [
        'PATCH',
        '/providers/inbound%20infobip',
        { inboundWebhook: { url: 'https://a.example', secret: 'short' } },
        /^inboundWebhook\.secret: /,
      ],
      [
        'PATCH',
        '/providers/inbound%20infobip',
        { inboundWebhook: { url: 'https://a.example' } },
        /^inboundWebhook\.secret: /,
      ],
    ];
    for (const [method, url, payload, message] of refused) {
      const response = await admin(method, url, payload);
      expect([url, response.statusCode, response.json().message]).toEqual([url, 400, expect.stringMatching(message)]);
      expect(response.body).not.toContain(webhookSecret);
    }
    expect(await stored('sms with inbound')).toBeNull();
    expect((await stored('inbound infobip'))!.inboundWebhook).toBeUndefined();
    expect((await admin('DELETE', '/providers/inbound%20infobip')).statusCode).toBe(204);
  });

  it('shows the inbound webhook URL, which holds its token, to keys of the providers scope only', async () => {
    const registered = await admin('POST', '/providers', {
      ...SEED_INFOBIP,
      name: 'token holder',
      isTenantDefault: false,
    });
    expect(registered.json().inboundWebhookUrl).toMatch(/\?token=[0-9a-f]{32}$/);
    const listed = await reader('GET', '/providers');
    const one = await reader('GET', '/providers/token%20holder');
    expect([listed.statusCode, one.statusCode]).toEqual([200, 200]);
    expect(listed.json().map((provider: { name: string }) => provider.name)).toContain('token holder');
    for (const answer of [listed, one]) {
      expect(answer.body).not.toContain('inboundWebhookUrl');
      expect(answer.body).not.toContain('token=');
    }
    expect((await admin('GET', '/providers/token%20holder')).json().inboundWebhookUrl).toBe(
      registered.json().inboundWebhookUrl,
    );
    expect((await admin('DELETE', '/providers/token%20holder')).statusCode).toBe(204);
  });

  it('keeps writes to providers keys and reads to read keys', async () => {
    const sender = call(stack.app, 'sender');
    const denied: [ReturnType<typeof call>, Method, string, object | undefined, string][] = [
      [call(stack.app, 'reader'), 'POST', '/providers', twilio('denied'), 'providers'],
      [sender, 'POST', '/providers', twilio('denied'), 'providers'],
      [sender, 'PATCH', '/providers/aws%20ses%20external', { isActive: false }, 'providers'],
      [call(stack.app, 'reader'), 'DELETE', '/providers/aws%20ses%20external', undefined, 'providers'],
      [sender, 'GET', '/providers', undefined, 'read'],
      [sender, 'GET', '/providers/aws%20ses%20external', undefined, 'read'],
    ];
    for (const [as, method, url, payload, scope] of denied) {
      const response = await as(method, url, payload);
      expect([method, url, response.statusCode, response.json().message]).toEqual([
        method,
        url,
        403,
        expect.stringContaining(`"${scope}" scope`),
      ]);
    }
    expect(await stored('denied')).toBeNull();
  });

  // Last: the bodies it generates may register providers and defaults, or change the seed's ses provider.
  it('answers any body of /providers, mode templates and /notifications with a 2xx or a 4xx in the error shape', async () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('ap-south-1', 'https://api.infobip.com', ''));
    const credentials = fc.dictionary(
      fc.constantFrom(
        'accessKeyId',
        'secretAccessKey',
        'region',
        'clientId',
        'clientSecret',
        'apiBaseUrl',
        'apiKey',
        'x',
      ),
      value,
    );
    const body = fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 120 }), value),
        providerType: fc.oneof(fc.constantFrom('ses', 'infobip', 'twilio', 'fcm', 'smtp'), value),
        channel: fc.oneof(fc.constantFrom('email', 'sms', 'whatsapp', 'voice'), value),
        credentials: fc.oneof(credentials, value),
        isActive: fc.oneof(fc.boolean(), value),
        isTenantDefault: fc.oneof(fc.constant(false), value),
      },
      { requiredKeys: [] },
    );
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('{{x}}', '{{#if}}', 'https://a.example/{{1}}'));
    const button = fc.oneof(
      fc.record({ url: fc.record({ value: fc.oneof(text, value) }) }),
      fc.record({ 'quick reply': fc.record({ value: fc.oneof(text, value) }) }),
      fc.record({ type: fc.oneof(fc.constantFrom('url', 'quickReply'), value), value: fc.oneof(text, value) }),
      value,
    );
    const modeTemplate = fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 60 }), value),
        mode: fc.oneof(fc.constantFrom('sms', 'email', 'whatsapp'), value),
        data: fc.oneof(
          fc.record(
            {
              body: fc.oneof(text, value),
              subject: fc.oneof(text, value),
              format: fc.oneof(fc.constantFrom('text/plain', 'text/html'), value),
              from: fc.oneof(fc.constant(''), value),
              buttons: fc.oneof(fc.array(button, { maxLength: 3 }), value),
              media: fc.oneof(
                fc.record(
                  {
                    image: fc.oneof(fc.record({ url: fc.oneof(text, value) }), value),
                    location: fc.record({ latitude: fc.oneof(fc.double(), value), longitude: fc.double() }),
                  },
                  { requiredKeys: [] },
                ),
                value,
              ),
            },
            { requiredKeys: [] },
          ),
          value,
        ),
        isActive: fc.oneof(fc.boolean(), value),
        tags: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), value),
      },
      { requiredKeys: [] },
    );
    const notification = fc.record(
      {
        appId: fc.oneof(fc.string({ maxLength: 20 }), value),
        name: fc.oneof(fc.string({ maxLength: 60 }), value),
        templates: fc.oneof(
          fc.record({ sms: fc.oneof(fc.constant('otp sms'), value), email: value, push: value }, { requiredKeys: [] }),
          value,
        ),
      },
      { requiredKeys: [] },
    );
    const requests = fc.oneof(
      fc.tuple(
        fc.constantFrom('POST /providers', 'PATCH /providers/aws%20ses%20external'),
        fc.oneof(body, fc.jsonValue()),
      ),
      fc.tuple(fc.constant('POST /templates'), fc.oneof(modeTemplate, fc.jsonValue())),
      fc.tuple(fc.constant('POST /notifications'), fc.oneof(notification, fc.jsonValue())),
    );
    await fc.assert(
      fc.asyncProperty(requests, async ([route, payload]) => {
        const [method, url] = route.split(' ') as [Method, string];
        const key = url === '/notifications' ? 'sender' : 'admin-key';
        const answer = await stack.app.inject({
          method,
          url,
          headers: { authorization: `Bearer ${testApiKey(key)}`, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        expect(answer.statusCode).toBeLessThan(500);
        if (answer.statusCode >= 400)
          expect(answer.json()).toEqual({
            statusCode: answer.statusCode,
            error: expect.any(String),
            message: expect.any(String),
          });
      }),
      { numRuns: 600 },
    );
  });
});
