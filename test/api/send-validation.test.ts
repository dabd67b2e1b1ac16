import { ObjectId } from 'mongodb';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * Bad input on POST /send (docs/api.md): a 4xx in the error shape naming the field, and nothing started, stored or
 * sent. No worker runs here, so a started workflow would also show up as an open execution on the queue.
 */
describe('POST /send rejects bad input', () => {
  let stack: TestStack;
  const templateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      service: {
        activeChannels: ['email', 'sms', 'push'],
        flowManagerConfiguration: {
          metadataSchema: {
            channels: 'channels',
            recipients: 'recipients',
            messageTitle: 'title',
            messageContent: 'text',
          },
        },
      },
    });
    await stack.database.templates.insertOne({ _id: templateId, name: 'sms only', smsMessage: 'Hi {{user.name}}' });
  });
  afterAll(() => stack.close());

  const valid = { channels: ['sms'], recipients: ['u1'], messageTitle: 'T', messageContent: 'C' };
  const nested = (depth: number) => JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

  const cases: [string, unknown, number, RegExp][] = [
    ['a body that is not an object', [1, 2], 400, /body|expected object/i],
    ['no channels', { ...valid, channels: undefined }, 400, /channels/],
    ['empty channels', { ...valid, channels: [] }, 400, /channels/],
    ['an unknown channel', { ...valid, channels: ['fax'] }, 400, /channels/],
    ['an inactive channel', { ...valid, channels: ['voice'] }, 400, /channels: voice not active/],
    ['channels of the wrong type', { ...valid, channels: 'sms' }, 400, /channels/],
    ['neither recipients nor clusters', { ...valid, recipients: undefined }, 400, /recipients/],
    ['empty recipients and clusters', { ...valid, recipients: [], clusters: [] }, 400, /recipients/],
    ['recipients of the wrong type', { ...valid, recipients: [42] }, 400, /recipients/],
    ['no messageContent and no template', { ...valid, messageContent: undefined }, 400, /messageContent/],
    ['no messageTitle and no template', { ...valid, messageTitle: undefined }, 400, /messageTitle/],
    ['a malformed templateId', { ...valid, templateId: 'abc' }, 400, /templateId/],
    [
      'an unknown templateId',
      { channels: ['sms'], recipients: ['u1'], templateId: new ObjectId().toHexString() },
      404,
      /templateId/,
    ],
    [
      'a template without the channel content',
      { channels: ['email'], recipients: ['u1'], templateId: templateId.toHexString() },
      400,
      /templateId: the template has no email(Title|Message), which channel email needs/,
    ],
    ['a content that does not compile', { ...valid, messageContent: 'Hi {{#if user.name}}' }, 400, /messageContent/],
    ['a content over 200 000 characters', { ...valid, messageContent: 'x'.repeat(200_001) }, 400, /messageContent/],
    ['an invalid emailSender', { ...valid, emailSender: 'not-an-address' }, 400, /emailSender/],
    ['data that is not an object', { ...valid, data: 'x' }, 400, /data/],
    ['an unknown field', { ...valid, recipient: ['u1'] }, 400, /recipient/],
    ['attachments of the wrong type', { ...valid, emailAttachments: 'a.pdf' }, 400, /emailAttachments/],
    ['a missing attachment', { ...valid, channels: ['email'], emailAttachments: ['nope.pdf'] }, 400, /nope\.pdf/],
    // `/download/..` would be the Files Service's `/`.
    [
      'an attachment named ..',
      { ...valid, channels: ['email'], emailAttachments: ['a.pdf', '..'] },
      400,
      /^emailAttachments\.1: must name a file: "\." and "\.\." are refused$/,
    ],
    [
      'an attachment named .',
      { ...valid, channels: ['email'], emailAttachments: ['.'] },
      400,
      /^emailAttachments\.0: must name a file/,
    ],
    // Found by fuzzing (test/api/fuzz.test.ts): each of these answered 500.
    [
      'data with a field name MongoDB refuses',
      { ...valid, data: { a: { $x: 1 } } },
      400,
      /^data\.a\.\$x: cannot be stored/,
    ],
    ['data with a dotted field name', { ...valid, data: { 'a.b': 1 } }, 400, /^data\.a\.b: cannot be stored/],
    ['data with an array in an array', { ...valid, data: { a: [[1]] } }, 400, /^data\.a\.0: cannot be stored/],
    ['data nested 100 levels deep', { ...valid, data: nested(100) }, 400, /nested deeper than 50 levels/],
    ['data of 20 MB once stored', { ...valid, data: { a: new Array(1_500_000).fill(0) } }, 413, /too large to store/],
    [
      'a list item with a length that is no number',
      { ...valid, recipients: [{ length: { toString: {} } }] },
      400,
      /^body: cannot be validated/,
    ],
  ];

  it.each(cases)('%s', async (_name, payload, statusCode, message) => {
    const response = await stack.app.inject({ method: 'POST', url: '/send', payload: payload as object });
    expect(response.statusCode).toBe(statusCode);
    const body = response.json();
    expect(body).toEqual({ statusCode, error: expect.any(String), message: expect.stringMatching(message) });
  });

  const command = (key: string, payload: Record<string, unknown>) => ({
    key,
    value: {
      messageLabel: 'sendNotification',
      messagePayload: { channels: ['sms'], title: 'T', text: 'C', ...payload },
    },
  });
  const sagaCases: [string, unknown, RegExp][] = [
    // Found by fuzzing: a lone surrogate is no valid workflow id; the send was stored before Temporal refused it.
    [
      'a saga id that is not well-formed Unicode',
      command('saga-\ud800', { recipients: 'u1' }),
      /^key: must be well-formed/,
    ],
    [
      'a payload value that breaks validation',
      command('saga-1', { recipients: [{ length: { toString: {} } }] }),
      /^body: cannot be validated/,
    ],
    [
      'a payload field name MongoDB refuses',
      command('saga-2', { recipients: 'u1', $x: 1 }),
      /^data\.value\.messagePayload\.\$x: cannot be stored/,
    ],
  ];

  it.each(sagaCases)('POST /saga/send: %s', async (_name, payload, message) => {
    const response = await stack.app.inject({ method: 'POST', url: '/saga/send', payload: payload as object });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) });
  });

  it('refuses a template attachment named . or .., naming the field, and stores nothing', async () => {
    for (const file of ['.', '..']) {
      const response = await stack.app.inject({
        method: 'POST',
        url: '/templates',
        payload: { name: `attachment ${file}`, emailTitle: 'T', emailMessage: 'M', emailAttachments: [{ file }] },
      });
      expect([file, response.statusCode, response.json().message]).toEqual([
        file,
        400,
        'emailAttachments.0.file: must name a file: "." and ".." are refused',
      ]);
    }
    expect(await stack.database.templates.countDocuments({ name: /^attachment / })).toBe(0);
  });

  it('answers malformed JSON with 400 in the error shape', async () => {
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      headers: { 'content-type': 'application/json' },
      payload: '{"channels": [',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('refuses attachments over 15 MB in total', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    for (const name of ['big-1.bin', 'big-2.bin']) {
      await fetch(`${stack.simulator.httpUrl}/files/${name}`, {
        method: 'PUT',
        body: big,
        headers: { 'content-type': 'application/octet-stream' },
      });
    }
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { ...valid, channels: ['email'], emailAttachments: ['big-1.bin', 'big-2.bin'] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/15 MB/);
  });

  it('started nothing and stored nothing for any of them', async () => {
    expect(await stack.database.sends.countDocuments()).toBe(0);
    const open = await stack.temporal.workflow.count(`TaskQueue = "${stack.config.env.TEMPORAL_TASK_QUEUE}"`);
    expect(open.count).toBe(0);
  });

  it('answers unknown routes with 404 in the error shape', async () => {
    const response = await stack.app.inject({ method: 'GET', url: '/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});

describe('attachments without a Files Service', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { FILE_SERVICE_URL: '' } });
  });
  afterAll(() => stack.close());

  it('refuses emailAttachments when FILE_SERVICE_URL is not set', async () => {
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: {
        channels: ['email'],
        recipients: ['u1'],
        messageTitle: 'T',
        messageContent: 'C',
        emailAttachments: ['welcome.pdf'],
      },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/emailAttachments.*FILE_SERVICE_URL/);
  });
});
