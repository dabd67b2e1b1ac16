import { createHmac } from 'node:crypto';

/**
 * Two-way WhatsApp conversations (docs/whatsapp.md, the OS1 send2WayMessage): the shapes the API, the
 * `conversation` workflow and its activities share.
 */

// What the workflow imports too lives apart, free of Node modules (the workflow bundle may not import node:crypto).
export * from '../temporal/conversation-signals';
import type { ConversationStatus } from '../temporal/conversation-signals';

/** A webhook the conversation calls, signed with its own secret (HMAC-SHA256 over `timestamp.rawBody`). */
export interface ConversationWebhook {
  url: string;
  secret: string;
}

/** `POST /conversations` as accepted: numbers normalized, template and provider checked. */
export interface ConversationRequest {
  /** The business's WhatsApp number as its digits (`447860099299`), as providers write it; the OS1 samples write none with a `+`. */
  from: string;
  /** The customer, E.164. */
  to: string;
  /** The registered WhatsApp provider (required). */
  provider: string;
  message: {
    template: string;
    /** The version of `template` sent: the one the notification named by the request approved; absent: the latest. */
    templateVersion?: number;
    data: Record<string, unknown>;
    media?: {
      document?: { url: string; filename?: string };
      image?: { url: string };
      location?: { latitude: number; longitude: number; name?: string; address?: string };
    };
    /** The OS1 buttons: plain strings (quick replies) or `{ url: { … } }` / `{ "quick reply": { … } }`. */
    buttons?: { type: 'url' | 'quickReply'; value: string }[];
  };
  acceptedResponses: { messages: string[]; webhook: ConversationWebhook }[];
  dynamicResponseRegex?: string;
  webhook: {
    defaultInbound?: ConversationWebhook;
    status?: ConversationWebhook;
    invalidResponse?: ConversationWebhook;
  };
  /** Seconds, 10 s to 7 days. */
  responseTimeout: number;
  context: Record<string, unknown>;
  errorMessage?: string;
}

export interface ConversationDocument {
  /** `conv-<uuid>`: also the workflow id. */
  _id: string;
  request: ConversationRequest;
  status: ConversationStatus;
  /** `customerHash(CUSTOMER_HASH_SECRET, to)`: what the Temporal UI and logs name the customer by. */
  customerHash: string;
  createdAt: Date;
  updatedAt: Date;
  closedAt?: Date;
}

/** The kinds of entries in a conversation's transcript (`conversation_events`). */
export type ConversationEventKind =
  'message_sent' | 'message_failed' | 'delivery_status' | 'answer' | 'webhook_call' | 'timed_out' | 'closed';

/** One transcript entry, keyed so that a retried activity writes it once. */
export interface ConversationEventDocument {
  /** `<conversationId>|<key>`, the key naming the step (`answer|<messageId>`, `webhook|<target>|<n>`, …). */
  _id: string;
  conversationId: string;
  kind: ConversationEventKind;
  at: Date;
  /** What happened: the answer's text and classification, the webhook's target and HTTP outcome, … */
  detail: Record<string, unknown>;
  /** When the entry was first written: it expires `RETENTION_DAYS` later. */
  createdAt: Date;
}

/** The one open conversation of (business number, customer): its lock's `_id`. */
export const conversationLockKey = (businessNumber: string, customer: string): string =>
  `${digitsOf(businessNumber)}|${digitsOf(customer)}`;

/** A phone number as its digits: providers write `+447…`, `447…` or `00447…` for one number. */
export const digitsOf = (phone: string): string => phone.replace(/\D/g, '').replace(/^00/, '');

/**
 * The customer's number as the Temporal UI and the logs may show it: an HMAC keyed by `CUSTOMER_HASH_SECRET`, never
 * the number. Keyed, because phone numbers are few enough to hash them all: an unkeyed hash (what conversations
 * started before carry) gives the number back to whoever tries them. Nothing looks a conversation up by it.
 */
export const customerHash = (secret: string, phone: string): string =>
  createHmac('sha256', secret)
    .update(`customer:${digitsOf(phone)}`)
    .digest('hex')
    .slice(0, 16);
