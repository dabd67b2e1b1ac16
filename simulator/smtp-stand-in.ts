import { setTimeout as sleep } from 'node:timers/promises';
import { AddressObject, simpleParser } from 'mailparser';
import { SMTPServer, SMTPServerSession } from 'smtp-server';
import type { SimulatorContext } from './context';
import { hex32 } from './simulated-ids';
import type { RecordedAttachment } from './recorder';

const MAX_MESSAGE_BYTES = 30 * 1024 * 1024;

interface SmtpError extends Error {
  responseCode: number;
}

function smtpError(responseCode: number, message: string): SmtpError {
  return Object.assign(new Error(message), { responseCode });
}

/** Maps the HTTP status of a fault to an SMTP reply: throttling and server errors are transient. */
function faultReply(status: number): SmtpError {
  if (status === 429 || status >= 500) return smtpError(451, '4.3.0 Simulated transient failure');
  return smtpError(550, '5.7.1 Simulated permanent failure');
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  const out: string[] = [];
  const visit = (entries: { address?: string; group?: unknown[] }[]) => {
    for (const e of entries) {
      if (e.address) out.push(e.address);
      if (Array.isArray(e.group)) visit(e.group as { address?: string; group?: unknown[] }[]);
    }
  };
  for (const obj of Array.isArray(field) ? field : [field]) visit(obj.value);
  return out;
}

/**
 * An SMTP server that accepts any AUTH, records every message, and applies the `email` faults:
 * failures and drops at MAIL FROM, rejected addresses at RCPT TO, latency before the reply to DATA.
 */
export function createSmtpServer(ctx: SimulatorContext): SMTPServer {
  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    disabledCommands: ['STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    banner: 'provider simulator',
    // A reverse DNS lookup per connection costs tens of milliseconds and tells a simulator nothing.
    disableReverseLookup: true,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onMailFrom(_address, session, callback) {
      ctx.stats.request('smtp');
      const failure = ctx.faults.takeFailure('email');
      if (!failure) return callback();
      ctx.stats.failedByFault += 1;
      if (failure.action === 'fail') return callback(faultReply(failure.status));
      dropConnection(server, session);
    },
    onRcptTo(address, _session, callback) {
      if (ctx.faults.isRejected('email', address.address)) {
        ctx.stats.rejected += 1;
        return callback(smtpError(550, `5.1.1 <${address.address}>: Recipient address rejected`));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          ctx.stats.rejected += 1;
          return callback(smtpError(552, '5.3.4 Message exceeds fixed maximum message size'));
        }
        record(ctx, Buffer.concat(chunks), session).then(
          async (id) => {
            const latency = ctx.faults.latencyFor('email');
            if (latency > 0) await sleep(latency);
            callback(null, `OK: queued as ${id}`);
          },
          () => callback(smtpError(451, '4.6.0 Could not parse the message')),
        );
      });
    },
  });
  // smtp-server emits client socket errors (resets, our own drops) here; unhandled they would crash the process.
  server.on('error', () => undefined);
  return server;
}

/** Destroys the socket of the session's connection without a reply; smtp-server exposes no API for it. */
function dropConnection(server: SMTPServer, session: SMTPServerSession): void {
  for (const connection of server.connections) {
    if (connection.id === session.id) {
      connection._socket.destroy();
      return;
    }
  }
}

async function record(ctx: SimulatorContext, raw: Buffer, session: SMTPServerSession): Promise<string> {
  // The link/HTML conversions are skipped: they are the costly part of parsing and nothing reads them.
  const mail = await simpleParser(raw, {
    skipHtmlToText: false,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
  });
  const to = addressesOf(mail.to);
  const cc = addressesOf(mail.cc);
  const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
  const visible = new Set([...to, ...cc].map((a) => a.toLowerCase()));
  const bcc = envelopeTo.filter((a) => !visible.has(a.toLowerCase()));
  const attachments: RecordedAttachment[] = mail.attachments.map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    size: a.size,
    checksum: a.checksum,
  }));
  const listHeaders = Object.fromEntries(
    mail.headerLines
      .filter(({ key }) => key.startsWith('list-'))
      .map(({ key, line }) => [key, line.slice(line.indexOf(':') + 1).trim()]),
  );
  const mailFrom = session.envelope.mailFrom;
  const id = hex32().slice(-20).toUpperCase();
  ctx.accept({
    id,
    channel: 'email',
    provider: 'smtp',
    to: to.join(', '),
    from: addressesOf(mail.from)[0] ?? (mailFrom ? mailFrom.address : undefined),
    subject: mail.subject,
    text: mail.text,
    html: typeof mail.html === 'string' ? mail.html : undefined,
    ...(cc.length > 0 ? { cc } : {}),
    ...(bcc.length > 0 ? { bcc } : {}),
    envelopeTo,
    messageId: mail.messageId,
    ...(attachments.length > 0 ? { attachments } : {}),
    ...(Object.keys(listHeaders).length > 0 ? { listHeaders } : {}),
  });
  return id;
}
