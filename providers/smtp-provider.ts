import nodemailer, { type Transporter } from 'nodemailer';
import { PermanentProviderError, TransientProviderError } from '../../common/domain/http-errors';
import type { SmtpSettings } from '../../common/config/provider-settings';
import type { EmailMessage, EmailProvider, ProviderReceipt } from './channel-interfaces';

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
