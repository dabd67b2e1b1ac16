/**
 * Inbound WhatsApp messages (docs/whatsapp.md): what a customer wrote to a business number, as the provider
 * posted it to `POST /webhooks/whatsapp/:provider/communications`. Each is recorded once, keyed by (provider, the
 * provider's message id), and routed once: to the open conversation of (business number, customer) as its `answer`
 * signal, else to the provider's default inbound webhook by a `routeInboundMessage` workflow, else nowhere.
 * Free of Node modules: the workflow imports it.
 */
import type { InboundMedia } from '../temporal/conversation-signals';

/** Where an inbound message went; `pending` until it was routed (a crash in between routes it on the repeat). */
export type InboundRoute = 'pending' | 'conversation' | 'late_answer' | 'default_inbound' | 'none';

export interface InboundMessageDocument {
  /** `inboundMessageKey(provider, messageId)`. */
  _id: string;
  provider: string;
  /** The provider's id of the message. */
  messageId: string;
  /** The customer, as the provider writes it (Infobip: digits). */
  from: string;
  /** The business number written to. */
  to: string;
  /** The provider's message type (`TEXT`, `BUTTON`, `IMAGE`, …). */
  type: string;
  /** The text, a tapped button's label, or a medium's caption; `''` when the message has none. */
  text: string;
  /** The medium it carries (an image, a document, an audio, a video, a location); absent for a text or a button. */
  media?: InboundMedia;
  receivedAt: Date;
  /** The business's message this one answers, when the provider says so (a reply or a button). */
  pairedMessageId: string | null;
  conversationId: string | null;
  routed: InboundRoute;
  routedAt?: Date;
  /** The posts to the default inbound webhook (`routeInboundMessage`): attempts and their last outcome. */
  webhook?: { attempts: number; lastStatus?: number; lastError?: string; deliveredAt?: Date };
  createdAt: Date;
}

export const inboundMessageKey = (provider: string, messageId: string): string => `${provider}|${messageId}`;

/** The `routeInboundMessage` workflow of an inbound message: one per message, so a repeated call starts nothing. */
export const routeInboundWorkflowId = (inboundId: string): string => `inbound-${inboundId}`;

/** What the default inbound webhook receives (JSON, signed with its secret). */
export interface InboundWebhookPayload {
  event: 'inbound_message';
  provider: string;
  messageId: string;
  from: string;
  to: string;
  type: string;
  text: string;
  /** Present when the message carries a medium. */
  media?: InboundMedia;
  receivedAt: string;
  pairedMessageId: string | null;
  /** Always null here: a message of an open conversation goes to that conversation's webhooks instead. */
  conversationId: null;
}
