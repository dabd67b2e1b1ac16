import type { Transporter } from 'nodemailer';
import { z } from 'zod';
import { PermanentProviderError, TransientProviderError } from '../common/domain/http-errors';
import type { EmailMessage, EmailProvider, ProviderReceipt } from './channel-interfaces';
import { defineProvider } from './provider-module';

/** Where mail goes; `SMTP_URL` from the environment. */
export const smtpSettingsSchema = z
  .strictObject({
    /** `smtp://user:pass@host:587` (STARTTLS when the server offers it) or `smtps://` (TLS from the start). */
    url: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL'),
  })
  .describe('{url}');
export type SmtpSettings = z.infer<typeof smtpSettingsSchema>;

/** SMTP reply codes: 4xx is "try again later", 5xx is final (RFC 5321 §4.2.1); no reply at all is transient. */
export function classifySmtpError(error: unknown): TransientProviderError | PermanentProviderError {
  const { responseCode, code, message } = error as { responseCode?: number; code?: string; message: string };
  if (responseCode && responseCode >= 500)
    return new PermanentProviderError(`smtp: ${message}`, `SMTP_${responseCode}`);
  if (responseCode) return new TransientProviderError(`smtp: ${message}`, `SMTP_${responseCode}`);
  return new TransientProviderError(`smtp: ${message}`, code ?? 'SMTP_ERROR');
}

/** Email over SMTP with nodemailer's pooled transport (connections are reused across messages). */
export class SmtpProvider implements EmailProvider {
  private readonly transporter: Transporter;

  constructor(settings: SmtpSettings) {
    // Loaded here, not at the top: the API lists the providers (their schemas) but never sends mail.
    const nodemailer = require('nodemailer') as typeof import('nodemailer');
    this.transporter = nodemailer.createTransport({
      url: settings.url,
      pool: true,
      maxConnections: 8,
      maxMessages: Infinity,
    } as never);
  }

  async sendEmail(message: EmailMessage): Promise<ProviderReceipt> {
    try {
      const info = await this.transporter.sendMail({
        from: message.from,
        to: message.to,
        cc: message.cc.length > 0 ? message.cc : undefined,
        bcc: message.bcc.length > 0 ? message.bcc : undefined,
        subject: message.subject,
        text: message.text,
        html: message.html,
        attachments: message.attachments.map(({ filename, content, contentType }) => ({
          filename,
          content,
          contentType,
        })),
        ...(message.headers ? { headers: message.headers } : {}),
      });
      return { providerMessageId: info.messageId };
    } catch (error) {
      throw classifySmtpError(error);
    }
  }

  close(): void {
    this.transporter.close();
  }
}

export const smtpProvider = defineProvider({
  type: 'smtp',
  channels: ['email'],
  settingsSchema: smtpSettingsSchema,
  environment: { url: 'SMTP_URL' },
  defaultFor: ['email'],
  profileDefaults: {
    // Every deployment has its own mail server: no public default.
    production: {},
    // The simulator's SMTP stand-in.
    development: { url: 'smtp://127.0.0.1:2525' },
  },
  urlSettings: ['url'],
  publicHosts: [
    'smtp.sendgrid.net',
    'smtp.mailgun.org',
    'smtp.eu.mailgun.org',
    'smtp.postmarkapp.com',
    'smtp.gmail.com',
    'smtp-relay.gmail.com',
    'smtp.office365.com',
    '*.amazonaws.com',
  ],
  errorReader: { thrown: classifySmtpError },
  build: (settings) => new SmtpProvider(settings),
});
