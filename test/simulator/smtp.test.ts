import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import { RunningSimulator, startSimulator } from '../../simulator';
import { call, reset, setFault } from './helpers';

let sim: RunningSimulator;
let base: string;

function transport(options: { auth?: boolean; pool?: boolean } = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: sim.smtpPort,
    secure: false,
    ignoreTLS: true,
    ...(options.pool ? { pool: true } : {}),
    ...(options.auth ? { auth: { user: 'mailer', pass: 'secret' } } : {}),
  });
}

function simpleMail(to: string | string[], subject = 'Hello') {
  return { from: 'Sender <noreply@example.com>', to, subject, text: 'Plain body' };
}

beforeAll(async () => {
  sim = await startSimulator({});
  base = sim.httpUrl;
});

afterAll(async () => {
  await sim.close();
});

beforeEach(async () => {
  await reset(base);
});

describe('SMTP', () => {
  it('exposes smtp:// and http:// URLs on the chosen ports', () => {
    expect(sim.smtpUrl).toBe(`smtp://127.0.0.1:${sim.smtpPort}`);
    expect(sim.httpUrl).toBe(`http://127.0.0.1:${sim.httpPort}`);
    expect(sim.smtpPort).toBeGreaterThan(0);
  });

  it('records a message with html, attachment, cc and bcc, readable right after the send', async () => {
    const attachment = Buffer.alloc(12_345, 7);
    const info = await transport({ auth: true }).sendMail({
      from: 'Sender <noreply@example.com>',
      to: 'Ada <ada@example.com>',
      cc: ['cc1@example.com', 'cc2@example.com'],
      bcc: 'hidden@example.com',
      subject: 'Your invoice',
      text: 'See attached',
      html: '<p>See <b>attached</b></p>',
      attachments: [{ filename: 'invoice.pdf', content: attachment, contentType: 'application/pdf' }],
    });
    expect(info.response).toMatch(/^250 OK: queued as \w+/);

    const { body } = await call(`${base}/messages?channel=email`);
    expect(body.messages).toHaveLength(1);
    const m = body.messages[0];
    expect(m).toMatchObject({
      channel: 'email',
      provider: 'smtp',
      to: 'ada@example.com',
      from: 'noreply@example.com',
      subject: 'Your invoice',
      html: '<p>See <b>attached</b></p>',
      cc: ['cc1@example.com', 'cc2@example.com'],
      bcc: ['hidden@example.com'],
      messageId: info.messageId,
    });
    expect(m.text.trim()).toBe('See attached');
    expect(m.envelopeTo.sort()).toEqual(
      ['ada@example.com', 'cc1@example.com', 'cc2@example.com', 'hidden@example.com'].sort(),
    );
    expect(m.attachments).toEqual([
      {
        filename: 'invoice.pdf',
        contentType: 'application/pdf',
        size: attachment.length,
        checksum: createHash('md5').update(attachment).digest('hex'),
      },
    ]);
    expect(info.response).toContain(m.id);
    // The bcc recipient finds the message through the envelope.
    expect((await call(`${base}/messages?to=hidden@example.com`)).body.messages).toHaveLength(1);
  });

  it('joins several To addresses', async () => {
    await transport().sendMail(simpleMail(['a@example.com', 'b@example.com']));
    const { body } = await call(`${base}/messages?channel=email`);
    expect(body.messages[0].to).toBe('a@example.com, b@example.com');
    expect(body.messages[0].bcc).toBeUndefined();
  });

  it('answers 451 to a transient fault, then accepts', async () => {
    await setFault(base, { target: 'email', failNext: 1 });
    const t = transport();
    await expect(t.sendMail(simpleMail('x@example.com'))).rejects.toMatchObject({ responseCode: 451 });
    await expect(t.sendMail(simpleMail('x@example.com'))).resolves.toBeDefined();
    expect((await call(`${base}/messages/count?channel=email`)).body.count).toBe(1);
    expect((await call(`${base}/stats`)).body).toMatchObject({ failedByFault: 1, requests: { smtp: 2 } });
  });

  it('maps a 4xx fault status to a permanent 550', async () => {
    await setFault(base, { target: 'email', failNext: 1, status: 400 });
    await expect(transport().sendMail(simpleMail('x@example.com'))).rejects.toMatchObject({ responseCode: 550 });
  });

  it('rejects a listed recipient with 550 at RCPT TO', async () => {
    await setFault(base, { target: 'email', rejectAddresses: ['gone@example.com'] });
    const err = await transport()
      .sendMail(simpleMail('Gone@example.com'))
      .then(
        () => undefined,
        (e: { responseCode?: number; response?: string }) => e,
      );
    expect(err?.responseCode).toBe(550);
    expect(err?.response).toContain('rejected');

    // With another valid recipient the message goes through without the rejected one.
    const info = await transport().sendMail(simpleMail(['gone@example.com', 'ok@example.com']));
    expect(info.rejected).toEqual(['gone@example.com']);
    const { body } = await call(`${base}/messages?channel=email`);
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0].envelopeTo).toEqual(['ok@example.com']);
  });

  it('closes the connection on dropNext', async () => {
    await setFault(base, { target: 'email', dropNext: 1 });
    await expect(transport().sendMail(simpleMail('x@example.com'))).rejects.toThrow();
    await expect(transport().sendMail(simpleMail('x@example.com'))).resolves.toBeDefined();
    expect((await call(`${base}/messages/count?channel=email`)).body.count).toBe(1);
  });

  it('delays the answer to DATA by the latency fault', async () => {
    const t = transport({ pool: true });
    await t.sendMail(simpleMail('warm@example.com'));
    await setFault(base, { target: 'email', latencyMs: 300 });
    const started = Date.now();
    await t.sendMail(simpleMail('slow@example.com'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    t.close();
  });
});
