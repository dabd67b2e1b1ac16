/**
 * One interface per channel. A provider is one module in `providers/` (`<type>-provider.ts`) whose class implements
 * every channel interface it serves (Twilio: sms and voice), and one line of provider-registry.ts. Providers throw
 * `TransientProviderError` or `PermanentProviderError` only.
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
  /** Where the provider posts delivery reports for this message, when it takes one per message. Absent: none. */
  statusCallbackUrl?: string;
  /** Headers of the message itself (`List-Unsubscribe`), for the providers that send them. */
  headers?: Record<string, string>;
}

export interface EmailProvider {
  sendEmail(message: EmailMessage): Promise<ProviderReceipt>;
  close?(): Promise<void> | void;
}

export interface TextMessage {
  from: string;
  to: string;
  body: string;
  /** A registered template's id at the provider/regulator (OS1 `externalRef`; Pinpoint TemplateId, DLT). */
  templateRef?: string;
  /** Where the provider posts delivery reports for this message (Twilio StatusCallback). Absent: none. */
  statusCallbackUrl?: string;
}

export interface SmsProvider {
  sendSms(message: TextMessage): Promise<ProviderReceipt>;
}

export interface VoiceProvider {
  /** Places an outbound text-to-speech call that reads `body`. */
  call(message: TextMessage): Promise<ProviderReceipt>;
}

/** A WhatsApp button: a link (`value` is its URL, or a template's URL suffix) or a quick reply (its title). */
export type WhatsappButton = { type: 'url'; value: string } | { type: 'quickReply'; value: string };

/** What a WhatsApp message may carry besides its text; the provider decides how (see infobip.ts). */
export interface WhatsappMedia {
  document?: { url: string; filename?: string };
  image?: { url: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
}

export interface WhatsappMessage extends TextMessage {
  /** A template approved at the provider (Infobip templateName = OS1 externalRef) and its body placeholders. */
  template?: { name: string; language: string; placeholders: string[] };
  media?: WhatsappMedia;
  buttons?: WhatsappButton[];
}

export interface WhatsappProvider {
  sendWhatsapp(message: WhatsappMessage): Promise<ProviderReceipt>;
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
