import { modeTemplateId, TemplatesRepository } from '../../common/store/templates-repository';
import { SEED_TEMPLATES } from '../support/seed-004';
import { startTestStack, type TestStack } from '../support/test-stack';

describe('mode templates (OS1 shape) in /templates', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(() => stack?.close());

  const inject = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  const byName = (name: string) => inject('GET', `/templates/by-name/${encodeURIComponent(name)}`);

  it("accepts the seed's three samples as written and stores one normalized form", async () => {
    const created = [];
    for (const sample of Object.values(SEED_TEMPLATES)) {
      const response = await inject('POST', '/templates', sample);
      expect([sample.name, response.statusCode]).toEqual([sample.name, 201]);
      created.push(response.json());
    }
    const [sms, email, whatsapp] = created;
    expect(sms).toEqual({
      _id: modeTemplateId('order sent').toHexString(),
      name: 'order sent',
      mode: 'sms',
      data: SEED_TEMPLATES.sms.data,
      isActive: true,
      tags: ['os1'],
      version: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    // `"from": ""` is no sender: stored as absent; an email template without a tag has none.
    expect(email).toMatchObject({ data: { format: 'text/plain' }, tags: [] });
    expect(email.data).not.toHaveProperty('from');
    expect(whatsapp.data.buttons).toEqual([
      { type: 'url', value: 'https://abc.com/{{1}}' },
      { type: 'quickReply', value: 'confirm delivery' },
    ]);
    expect(whatsapp.data.media).toEqual(SEED_TEMPLATES.whatsapp.data.media);

    // The lead's read, as a send resolves a template by name.
    const stored = await new TemplatesRepository(stack.database).findModeTemplate('order delivered');
    expect(stored).toMatchObject({
      name: 'order delivered',
      mode: 'whatsapp',
      isActive: true,
      tags: ['os1', 'delivery'],
      data: { body: SEED_TEMPLATES.whatsapp.data.body, externalRef: '1243234232', buttons: whatsapp.data.buttons },
    });
    expect(stored!.createdAt).toBeInstanceOf(Date);
    expect(await new TemplatesRepository(stack.database).findModeTemplate('no such template')).toBeNull();
  });

  it('keeps names unique through the store: a repeat is a 409 naming the name, whatever its mode', async () => {
    const first = { name: 'unique name', mode: 'sms', data: { body: 'one' } };
    expect((await inject('POST', '/templates', first)).statusCode).toBe(201);
    const again = await inject('POST', '/templates', { ...first, mode: 'whatsapp', data: { body: 'two' } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'name: a mode template named "unique name" exists',
    });
    expect((await byName('unique name')).json().data.body).toBe('one');
    // Concurrent creates of one name: exactly one is stored.
    const racing = await Promise.all(
      [1, 2, 3, 4].map((n) => inject('POST', '/templates', { name: 'raced', mode: 'sms', data: { body: `${n}` } })),
    );
    expect(racing.map((response) => response.statusCode).sort()).toEqual([201, 409, 409, 409]);
    expect(await stack.database.templates.countDocuments({ name: 'raced' })).toBe(1);
    // Mia's templates are another kind: a name shared with one is no conflict, and they stay as they were.
    const mia = await inject('POST', '/templates', { name: 'unique name', smsMessage: 'Hi {{user.name}}' });
    expect(mia.statusCode).toBe(201);
    expect(mia.json()).not.toHaveProperty('mode');
  });

  it('finds a mode template by name, 404 naming it otherwise', async () => {
    await inject('POST', '/templates', { name: 'by name/with slash', mode: 'sms', data: { body: 'x' } });
    const found = await byName('by name/with slash');
    expect([found.statusCode, found.json().name]).toEqual([200, 'by name/with slash']);
    const missing = await byName('nobody');
    expect([missing.statusCode, missing.json().message]).toEqual([404, 'name: no mode template is named "nobody"']);
    // A Mia template of that name is not a mode template.
    await inject('POST', '/templates', { name: 'mia only', smsMessage: 'Hi' });
    expect((await byName('mia only')).statusCode).toBe(404);
  });

  it('lists by tag and by mode, mode templates only', async () => {
    const tag = 'tag-filter';
    await inject('POST', '/templates', { name: 'tagged sms', mode: 'sms', data: { body: 'a' }, tags: [tag, 'x'] });
    await inject('POST', '/templates', {
      name: 'tagged email',
      mode: 'email',
      data: { body: 'b', subject: 's' },
      tags: [tag],
    });
    await inject('POST', '/templates', { name: 'untagged sms', mode: 'sms', data: { body: 'c' } });
    const tagged = (await inject('GET', `/templates?tag=${tag}`)).json();
    expect(tagged.map((template: { name: string }) => template.name).sort()).toEqual(['tagged email', 'tagged sms']);
    const taggedSms = (await inject('GET', `/templates?tag=${tag}&mode=sms`)).json();
    expect(taggedSms.map((template: { name: string }) => template.name)).toEqual(['tagged sms']);
    const allSms = (await inject('GET', '/templates?mode=sms&limit=1000')).json();
    expect(allSms.length).toBeGreaterThanOrEqual(2);
    expect(allSms.every((template: { mode: string }) => template.mode === 'sms')).toBe(true);
    const badMode = await inject('GET', '/templates?mode=fax');
    expect([badMode.statusCode, badMode.json().message]).toEqual([400, expect.stringMatching(/^mode: /)]);
  });

  it('stores the inactive flag, defaulting to active, and patches it', async () => {
    const created = (
      await inject('POST', '/templates', { name: 'paused', mode: 'sms', data: { body: 'x' }, isActive: false })
    ).json();
    expect(created.isActive).toBe(false);
    const repository = new TemplatesRepository(stack.database);
    expect((await repository.findModeTemplate('paused'))!.isActive).toBe(false);
    const patched = await inject('PATCH', `/templates/${created._id}`, { isActive: true, tags: ['b', 'a', 'b'] });
    expect([patched.statusCode, patched.json().isActive, patched.json().tags]).toEqual([200, true, ['b', 'a']]);
    expect((await repository.findModeTemplate('paused'))!.isActive).toBe(true);
  });

  it("patches a mode template's data whole, checked against its mode; never its name or mode", async () => {
    const created = (
      await inject('POST', '/templates', { name: 'patched', mode: 'email', data: { body: 'b', subject: 's' } })
    ).json();
    const url = `/templates/${created._id}`;
    const refused: [object, RegExp][] = [
      [{ name: 'renamed' }, /^name: a mode template's name cannot change/],
      [{ mode: 'sms' }, /^mode: /],
      [{ smsMessage: 'x' }, /^smsMessage: not a field of a mode template/],
      [{ data: { body: 'no subject' } }, /^data\.subject: /],
      [{ data: { body: 'x', subject: 's', originationNumber: '+1' } }, /^data: .*originationNumber/],
      [{ data: { body: '{{#if}}', subject: 's' } }, /^data\.body is not a valid Handlebars template/],
    ];
    for (const [patch, message] of refused) {
      const response = await inject('PATCH', url, patch);
      expect([patch, response.statusCode, response.json().message]).toEqual([
        patch,
        400,
        expect.stringMatching(message),
      ]);
    }
    const patched = await inject('PATCH', url, {
      name: 'patched',
      data: { body: '<b>{{x}}</b>', subject: 'new', format: 'text/html' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      name: 'patched',
      mode: 'email',
      data: { body: '<b>{{x}}</b>', subject: 'new', format: 'text/html' },
    });
    // A Mia template takes none of the mode templates' fields.
    const mia = (await inject('POST', '/templates', { name: 'mia', smsMessage: 'Hi' })).json();
    const miaPatch = await inject('PATCH', `/templates/${mia._id}`, { isActive: false });
    expect([miaPatch.statusCode, miaPatch.json().message]).toEqual([400, expect.stringMatching(/^isActive: /)]);
    expect((await inject('PATCH', `/templates/${mia._id}`, { smsMessage: 'Ho' })).json().smsMessage).toBe('Ho');
    expect((await inject('DELETE', url)).statusCode).toBe(204);
    expect((await byName('patched')).statusCode).toBe(404);
  });

  it('refuses bad input naming the field, and stores nothing', async () => {
    const before = await stack.database.templates.countDocuments();
    const refused: [object, RegExp][] = [
      [{ name: 'x', mode: 'fax', data: { body: 'b' } }, /^mode: /],
      [{ name: 'x', mode: 'sms', data: { body: 'Hi {{#each}}' } }, /^data\.body is not a valid Handlebars template/],
      [{ name: 'x', mode: 'email', data: { body: 'b', subject: '{{/if}}' } }, /^data\.subject is not a valid/],
      [{ name: 'x', mode: 'email', data: { body: 'b' } }, /^data\.subject: /],
      [{ name: 'x', mode: 'sms', data: {} }, /^data\.body: /],
      [{ name: 'x', mode: 'sms', data: { body: '' } }, /^data\.body: /],
      [{ name: '', mode: 'sms', data: { body: 'b' } }, /^name: /],
      [{ mode: 'sms', data: { body: 'b' } }, /^name: /],
      [{ name: 'x', mode: 'sms', data: { body: 'b', subjet: 's' } }, /^data: .*subjet/],
      [{ name: 'x', mode: 'sms', data: { body: 'b' }, isActive: 'yes' }, /^isActive: /],
      [{ name: 'x', mode: 'sms', data: { body: 'b' }, tags: 'os1' }, /^tags: /],
      [{ name: 'x', mode: 'sms', data: { body: 'b' }, smsMessage: 'mixed' }, /smsMessage/],
      [{ name: 'x', mode: 'whatsapp', data: { body: 'b', buttons: [{ call: { value: '1' } }] } }, /^data\.buttons\.0/],
      [
        { name: 'x', mode: 'whatsapp', data: { body: 'b', buttons: [{ url: { value: 'ftp://x' } }] } },
        /^data\.buttons\.0\.value: /,
      ],
      [
        { name: 'x', mode: 'whatsapp', data: { body: 'b', media: { image: { url: 'not a url' } } } },
        /^data\.media\.image\.url: /,
      ],
      [
        { name: 'x', mode: 'whatsapp', data: { body: 'b', media: { location: { latitude: 91, longitude: 0 } } } },
        /^data\.media\.location\.latitude: /,
      ],
    ];
    for (const [payload, message] of refused) {
      const response = await inject('POST', '/templates', payload);
      expect([payload, response.statusCode, response.json()]).toEqual([
        payload,
        400,
        { statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) },
      ]);
    }
    expect(await stack.database.templates.countDocuments()).toBe(before);
  });

  it('accepts every spelling of a quick reply and the stored form itself', async () => {
    const buttons = [
      { quickReply: { value: 'a' } },
      { quick_reply: { value: 'b' } },
      { type: 'quickReply', value: 'c' },
      { type: 'url', value: 'https://example.com/x' },
    ];
    const response = await inject('POST', '/templates', {
      name: 'buttons',
      mode: 'whatsapp',
      data: { body: 'b', buttons, media: { location: { latitude: 37.7749, longitude: -122.4194, name: 'HQ' } } },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json().data.buttons).toEqual([
      { type: 'quickReply', value: 'a' },
      { type: 'quickReply', value: 'b' },
      { type: 'quickReply', value: 'c' },
      { type: 'url', value: 'https://example.com/x' },
    ]);
  });
});
