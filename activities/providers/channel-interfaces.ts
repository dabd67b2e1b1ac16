/**
 * One interface per channel (STYLE.md, after novu). A provider is one file in `activities/providers/`
 * implementing every channel interface it serves (Twilio: sms and voice), so adding a provider touches one
 * file and the factory. Providers throw `TransientProviderError` or `PermanentProviderError` only.
 */
export interface ProviderReceipt {
  providerMessageId?: string;
}

export interface EmailAttachment {
  filename: string;
  content: Buffer;
  contentType?: string;
}

export interface EmailMessage {
  from: string;
  to: string;
  cc: string[];
  bcc: string[];
  subject: string;
  text?: string;
  html: string;
  attachments: EmailAttachment[];
}

export interface EmailProvider {
  sendEmail(message: EmailMessage): Promise<ProviderReceipt>;
  close?(): Promise<void> | void;
}

export interface TextMessage {
  from: string;
  to: string;
  body: string;
}

export interface SmsProvider {
  sendSms(message: TextMessage): Promise<ProviderReceipt>;
}

export interface VoiceProvider {
  /** Places an outbound text-to-speech call that reads `body`. */
  call(message: TextMessage): Promise<ProviderReceipt>;
}

export interface WhatsappProvider {
  sendWhatsapp(message: TextMessage): Promise<ProviderReceipt>;
}

export interface PushMessage {
  token: string;
  title: string;
  body: string;
  subtitle?: string;
  /** The template's `pushData`: `android` and `apns` objects passed through, any other keys as FCM data. */
  pushData?: Record<string, unknown>;
  androidIntentAction?: string;
}

export interface PushProvider {
  sendPush(message: PushMessage): Promise<ProviderReceipt>;
}

export interface ChannelProviders {
  email: EmailProvider;
  sms: SmsProvider;
  push: PushProvider;
  voice: VoiceProvider;
  whatsapp: WhatsappProvider;
  close(): Promise<void>;
}
