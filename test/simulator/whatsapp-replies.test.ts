import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RunningSimulator, startSimulator } from '../../simulator';
import { call, reset } from './helpers';

/** A receiver of inbound calls: keeps each raw body and answers `status` (200 unless a test changes it). */
async function startReceiver() {
  const bodies: { path: string; body: string; contentType?: string }[] = [];
  const receiver = { bodies, status: 200, url: '', close: () => Promise.resolve() };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push({
        path: request.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        contentType: request.headers['content-type'],
      });
      response.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}

let sim: RunningSimulator;
let base: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  sim = await startSimulator({ httpPort: 0, smtpPort: 0 });
  base = sim.httpUrl;
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.close();
  await sim.close();
});

beforeEach(async () => {
  await reset(base);
  await call(`${base}/whatsapp/inbound`, { method: 'DELETE' });
  receiver.bodies.length = 0;
  receiver.status = 200;
});

const posted = () => receiver.bodies.map(({ body }) => JSON.parse(body));

/** A WhatsApp text the business sends through the simulated Infobip; answers its message id. */
async function businessSends(from: string, to: string, callbackData?: string): Promise<string> {
  const sent = await call(`${base}/whatsapp/1/message/text`, {
    headers: { authorization: 'App key' },
    json: { from, to, content: { text: 'Reply 1 to confirm' }, ...(callbackData ? { callbackData } : {}) },
  });
  expect(sent.status).toBe(200);
  return sent.body.messageId;
}

describe('the customer side of WhatsApp: replies in Infobip’s inbound format', () => {
  it('answers a recorded message: its recipient writes to its sender, paired with it, in Infobip’s format', async () => {
    const messageId = await businessSends('447860099299', '+44 7700 900123', 'order-42');
    expect(
      (await call(`${base}/whatsapp/inbound`, { method: 'PUT', json: { url: `${receiver.url}/in` } })).status,
    ).toBe(200);

    const replied = await call(`${base}/whatsapp/reply`, { json: { messageId, text: 'Yes, confirm' } });
    expect(replied.status).toBe(200);
    expect(replied.body.call).toMatchObject({ outcome: 'delivered', answered: 200, url: `${receiver.url}/in` });

    expect(receiver.bodies).toHaveLength(1);
    expect(receiver.bodies[0]).toMatchObject({ path: '/in', contentType: 'application/json' });
    const [body] = posted();
    expect(body).toEqual({
      results: [
        {
          from: '447700900123',
          to: '447860099299',
          integrationType: 'WHATSAPP',
          receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/),
          messageId: expect.any(String),
          pairedMessageId: messageId,
          callbackData: 'order-42',
          message: { type: 'TEXT', text: 'Yes, confirm' },
          price: { pricePerMessage: 0, currency: 'EUR' },
        },
      ],
      messageCount: 1,
      pendingMessageCount: 0,
    });
    // What was posted is what the record keeps, byte for byte.
    expect(replied.body.call.body).toBe(receiver.bodies[0].body);
    expect(replied.body.call.results).toEqual([
      {
        messageId: body.results[0].messageId,
        from: '447700900123',
        to: '447860099299',
        type: 'TEXT',
        text: 'Yes, confirm',
        pairedMessageId: messageId,
      },
    ]);
  });

  it('posts to the URL of the business number, else the default, and to a url given with the reply', async () => {
    await call(`${base}/whatsapp/inbound`, { method: 'PUT', json: { url: `${receiver.url}/default` } });
    const configured = await call(`${base}/whatsapp/inbound`, {
      method: 'PUT',
      json: { url: `${receiver.url}/shop`, from: '+44 7860 099299' },
    });
    expect(configured.body.urls).toEqual({
      default: `${receiver.url}/default`,
      '447860099299': `${receiver.url}/shop`,
    });

    const reply = (json: object) =>
      call(`${base}/whatsapp/reply`, { json: { from: '+15550001', text: 'hi', ...json } });
    expect((await reply({ to: '447860099299' })).status).toBe(200);
    expect((await reply({ to: '+1 555 0002' })).status).toBe(200);
    expect((await reply({ to: '447860099299', url: `${receiver.url}/given` })).status).toBe(200);
    expect(receiver.bodies.map(({ path }) => path)).toEqual(['/shop', '/default', '/given']);
    expect(posted().map((body) => [body.results[0].to, body.results[0].pairedMessageId])).toEqual([
      ['447860099299', null],
      ['15550002', null],
      ['447860099299', null],
    ]);
  });

  it('carries several messages in one call, a tapped quick-reply button among them', async () => {
    await call(`${base}/whatsapp/inbound`, { method: 'PUT', json: { url: receiver.url } });
    const answered = await businessSends('447860099299', '15550100');
    const replied = await call(`${base}/whatsapp/replies`, {
      json: {
        replies: [
          { messageId: answered, text: 'confirm delivery', type: 'BUTTON', payload: 'CONFIRM' },
          { from: '15550200', to: '447860099299', text: '2' },
        ],
      },
    });
    expect(replied.status).toBe(200);
    const [body] = posted();
    expect(body.messageCount).toBe(2);
    expect(body.results.map((result: Record<string, unknown>) => [result.from, result.message])).toEqual([
      ['15550100', { type: 'BUTTON', text: 'confirm delivery', payload: 'CONFIRM' }],
      ['15550200', { type: 'TEXT', text: '2' }],
    ]);
    expect(new Set(body.results.map((result: { messageId: string }) => result.messageId)).size).toBe(2);
  });

  it('records a call the receiver refused, and posts the same body again on resend', async () => {
    await call(`${base}/whatsapp/inbound`, { method: 'PUT', json: { url: receiver.url } });
    receiver.status = 401;
    const refused = await call(`${base}/whatsapp/reply`, { json: { from: '15550100', to: '15550999', text: 'hello' } });
    expect(refused.status).toBe(200);
    expect(refused.body.call).toMatchObject({ outcome: 'failed', answered: 401, error: 'answered 401' });

    receiver.status = 200;
    const again = await call(`${base}/whatsapp/replies/${refused.body.call.seq}/resend`, { method: 'POST' });
    expect(again.body.call).toMatchObject({ outcome: 'delivered', resendOf: refused.body.call.seq });
    expect(receiver.bodies[1].body).toBe(receiver.bodies[0].body);

    const listed = await call(`${base}/whatsapp/replies?number=%2B15550100`);
    expect(listed.body.calls.map((each: { seq: number }) => each.seq)).toEqual([
      refused.body.call.seq,
      again.body.call.seq,
    ]);
    expect((await call(`${base}/whatsapp/replies?number=19999`)).body.calls).toEqual([]);
    expect((await call(`${base}/whatsapp/replies/999/resend`, { method: 'POST' })).status).toBe(404);
  });

  it('refuses what it cannot post, naming the field, and posts nothing', async () => {
    const reply = (json: object) => call(`${base}/whatsapp/reply`, { json });
    const noUrl = await reply({ from: '15550100', to: '15550999', text: 'hello' });
    expect(noUrl.status).toBe(409);
    expect(noUrl.body.error).toMatch(/^url: no inbound URL for 15550999; PUT \/whatsapp\/inbound/);

    await call(`${base}/whatsapp/inbound`, { method: 'PUT', json: { url: receiver.url } });
    expect((await reply({ messageId: 'never-sent', text: 'x' })).body.error).toMatch(/^messageId: no WhatsApp message/);
    expect((await reply({ messageId: 'never-sent', text: 'x' })).status).toBe(404);
    expect((await reply({ to: '15550999', text: 'x' })).body.error).toBe('from: required without messageId');
    expect((await reply({ from: '15550100', text: 'x' })).body.error).toBe('to: required without messageId');
    const internet = await reply({ from: '15550100', to: '15550999', text: 'x', url: 'http://example.com/in' });
    expect([internet.status, internet.body.error]).toEqual([
      400,
      'url: example.com is neither loopback nor in SIMULATOR_REPORT_HOSTS',
    ]);
    const invalid = await reply({ from: '15550100', to: '15550999', text: '', colour: 'red' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(['', 'text']);
    const configureInternet = await call(`${base}/whatsapp/inbound`, {
      method: 'PUT',
      json: { url: 'http://example.com/in' },
    });
    expect(configureInternet.status).toBe(400);
    const split = await call(`${base}/whatsapp/inbound`, {
      method: 'PUT',
      json: { url: `${receiver.url}/other`, from: '15550888' },
    });
    expect(split.status).toBe(200);
    const mixed = await call(`${base}/whatsapp/replies`, {
      json: {
        replies: [
          { from: '15550100', to: '15550999', text: 'a' },
          { from: '15550100', to: '15550888', text: 'b' },
        ],
      },
    });
    expect([mixed.status, mixed.body.error]).toEqual([
      400,
      'replies: these business numbers have different inbound URLs; post them apart',
    ]);
    expect(receiver.bodies).toEqual([]);
  });

  it('shows the replies in the inbox, and DELETE /messages forgets them but keeps the URLs', async () => {
    await call(`${base}/whatsapp/inbound`, { method: 'PUT', json: { url: receiver.url } });
    await call(`${base}/whatsapp/reply`, { json: { from: '15550100', to: '15550999', text: 'See <you> soon' } });
    const inbox = await call(`${base}/`);
    expect(inbox.body).toContain('WhatsApp replies');
    expect(inbox.body).toContain('See &lt;you&gt; soon');

    await call(`${base}/messages`, { method: 'DELETE' });
    expect((await call(`${base}/whatsapp/replies`)).body.calls).toEqual([]);
    expect((await call(`${base}/whatsapp/inbound`)).body.urls).toEqual({ default: receiver.url });
  });
});
