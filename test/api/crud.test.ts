import { ObjectId } from 'mongodb';
import { MAX_PARAM_LENGTH } from '../../api/request-errors';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

describe('users, templates, health and documentation routes', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(() => stack.close());

  const inject = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    stack.app.inject({ method, url, payload });

  it('creates, reads, lists, patches and deletes users', async () => {
    const created = await inject('POST', '/users', {
      name: 'Mario',
      emailAddress: 'mario@example.com',
      clusters: ['a'],
    });
    expect(created.statusCode).toBe(201);
    const id = created.json()._id;
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect((await inject('GET', `/users/${id}`)).json()).toMatchObject({ name: 'Mario', clusters: ['a'] });
    expect((await inject('GET', '/users?cluster=a')).json()).toHaveLength(1);
    expect((await inject('PATCH', `/users/${id}`, { phoneNumber: '+393331112222' })).json()).toMatchObject({
      phoneNumber: '+393331112222',
    });
    expect((await inject('DELETE', `/users/${id}`)).statusCode).toBe(204);
    expect((await inject('GET', `/users/${id}`)).statusCode).toBe(404);
  });

  it('answers users written by other means as they are stored, whatever their field types', async () => {
    const _id = new ObjectId();
    await stack.database.users.insertOne({
      _id,
      phoneNumber: 393331112222,
      emailAddress: 'not an address',
      clusters: 'x',
    });
    const response = await inject('GET', `/users/${_id.toHexString()}`);
    expect([response.statusCode, response.json()]).toEqual([
      200,
      { _id: _id.toHexString(), phoneNumber: 393331112222, emailAddress: 'not an address', clusters: 'x' },
    ]);
  });

  it('validates user fields by their configured names', async () => {
    const response = await inject('POST', '/users', { emailAddress: 'nope', clusters: 'a' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/emailAddress/);
  });

  it('manages templates and refuses one that does not compile, naming the field', async () => {
    const bad = await inject('POST', '/templates', { name: 'bad', smsMessage: 'Hi {{#each}}' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/smsMessage/);
    const unknownField = await inject('POST', '/templates', { name: 'x', smsMesage: 'typo' });
    expect(unknownField.statusCode).toBe(400);
    expect(unknownField.json().message).toMatch(/smsMesage/);

    const created = await inject('POST', '/templates', {
      name: 'hello',
      smsMessage: 'Hi {{user.name}}',
      pushTitle: 'T',
      pushMessage: '{{uppercase data.x}}',
    });
    expect(created.statusCode).toBe(201);
    const id = created.json()._id;
    expect((await inject('PATCH', `/templates/${id}`, { voiceMessage: 'Hello {{user.name}}' })).statusCode).toBe(200);
    const preview = await inject('POST', `/templates/${id}/preview`, { user: { name: 'Mario' }, data: { x: 'abc' } });
    expect(preview.json()).toEqual({
      sms: { channel: 'sms', body: 'Hi Mario' },
      push: { channel: 'push', title: 'T', body: 'ABC' },
      voice: { channel: 'voice', body: 'Hello Mario' },
    });
    expect((await inject('GET', '/templates/not-an-id')).statusCode).toBe(400);
    expect((await inject('DELETE', `/templates/${id}`)).statusCode).toBe(204);
    expect((await inject('POST', `/templates/${id}/preview`, {})).statusCode).toBe(404);
  });

  // Found by fuzzing (test/api/fuzz.test.ts): each of these reached the database and answered 500.
  it('refuses user fields and push data that the database cannot store, and stores nothing', async () => {
    const usersBefore = await stack.database.users.countDocuments();
    const templatesBefore = await stack.database.templates.countDocuments();
    const refused: [string, string, object, RegExp][] = [
      ['POST', '/users', { $x: 1 }, /^\$x: cannot be stored/],
      ['POST', '/users', { profile: { 'a.b': 1 } }, /^profile\.a\.b: cannot be stored/],
      ['POST', '/users', { 'a\u0000b': 1 }, /cannot be stored/],
      // FerretDB stored it, then failed every later query of the users: "invalid character '\x03' in string literal".
      ['POST', '/users', { profile: { 'k\u0003': 1 } }, /^profile\.k.: cannot be stored: .*control characters/],
      ['POST', '/users', { '"': 1 }, /^": cannot be stored/],
      ['POST', '/users', { tags: [[1]] }, /^tags\.0: cannot be stored/],
      ['POST', '/templates', { name: 'x', pushData: { $x: 1 } }, /^pushData\.\$x: cannot be stored/],
    ];
    for (const [method, url, payload, message] of refused) {
      const response = await inject(method as 'POST', url, payload);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(message),
      });
    }
    // 3 MB of JSON, within the templates' 5 MB body limit, grow past MongoDB's 16 MB as BSON.
    const tooLarge = await inject('POST', '/templates', {
      name: 'huge',
      pushData: { zeros: new Array(1_500_000).fill(0) },
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json()).toMatchObject({ statusCode: 413, message: expect.stringMatching(/too large to store/) });

    const user = (await inject('POST', '/users', { name: 'Kept' })).json();
    const template = (await inject('POST', '/templates', { name: 'Kept' })).json();
    for (const patch of [{ $x: 1 }, { '': 1 }, { ' name': 'x' }, { 'name.x': 1 }]) {
      expect((await inject('PATCH', `/users/${user._id}`, patch)).statusCode).toBe(400);
    }
    expect((await inject('PATCH', `/templates/${template._id}`, { pushData: { 'a.b': 1 } })).statusCode).toBe(400);
    expect((await inject('GET', `/users/${user._id}`)).json()).toEqual(user);
    expect((await inject('GET', `/templates/${template._id}`)).json()).toEqual(template);
    expect(await stack.database.users.countDocuments()).toBe(usersBefore + 1);
    expect(await stack.database.templates.countDocuments()).toBe(templatesBefore + 1);
  });

  it('answers malformed and overlong URLs in the error shape', async () => {
    const badUrl = await inject('GET', '/users/%E0%A4%A');
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json()).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/^url: /) });
    const longId = await inject('GET', `/templates/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`);
    expect(longId.statusCode).toBe(414);
    expect(longId.json()).toEqual({ statusCode: 414, error: 'URI Too Long', message: expect.stringMatching(/^url: /) });
  });

  it('reports health, readiness and each dependency', async () => {
    expect((await inject('GET', '/-/healthz')).json()).toEqual({ status: 'OK' });
    expect((await inject('GET', '/-/ready')).statusCode).toBe(200);
    const checkUp = (await inject('GET', '/-/check-up')).json();
    expect(checkUp.checks).toEqual([
      { name: 'mongodb', healthy: true },
      { name: 'temporal', healthy: true },
    ]);
    const metrics = await inject('GET', '/-/metrics');
    expect(metrics.body).toContain('messaging_http_requests_total');
  });

  it('serves an OpenAPI document generated from the zod schemas', async () => {
    const document = (await inject('GET', '/documentation/json')).json();
    expect(document.openapi).toMatch(/^3\./);
    const sendBody = document.paths['/send'].post.requestBody.content['application/json'].schema;
    expect(sendBody.required).toContain('channels');
    expect(Object.keys(sendBody.properties)).toEqual(
      expect.arrayContaining(['recipients', 'clusters', 'templateId', 'emailAttachments']),
    );
  });

  it('unknown send ids are 404, malformed ones 400', async () => {
    expect((await inject('GET', '/sends/send-00000000-0000-0000-0000-000000000000')).statusCode).toBe(404);
    const malformed = await inject('GET', '/sends/nope');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ statusCode: 400, message: expect.stringMatching(/sendId/) });
  });
});

describe('API keys', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { API_KEYS: `${testApiKey('k1')}, ${testApiKey('k2')}` } });
  });
  afterAll(() => stack.close());

  it('requires a bearer key on every route but health', async () => {
    expect((await stack.app.inject({ method: 'GET', url: '/users' })).statusCode).toBe(401);
    expect(
      (
        await stack.app.inject({
          method: 'GET',
          url: '/users',
          headers: { authorization: `Bearer ${testApiKey('k2')}` },
        })
      ).statusCode,
    ).toBe(200);
    expect((await stack.app.inject({ method: 'GET', url: '/-/healthz' })).statusCode).toBe(200);
  });
});
