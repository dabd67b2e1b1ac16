import { defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * The `conversation` workflow's contract: its signals and update, and the part of the conversations' shapes
 * (common/domain/conversation-model.ts) that the workflow imports, free of Node modules since the workflow bundle may
 * not import them. common/domain/conversation-model.ts re-exports all of it.
 */

export const CONVERSATION_STATUSES = ['sending', 'awaiting_response', 'answered', 'timed_out', 'failed'] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];

/**
 * What the conversation did with an answer: `queued` to be classified; `late` (it had decided or timed out) posted to
 * its `webhook.defaultInbound` as a `late_answer` event; `repeated` (a message id it already took) or `dropped` (more
 * than it keeps waiting) left alone.
 */
export interface AnswerTaken {
  taken: 'queued' | 'late' | 'repeated' | 'dropped';
}

/**
 * A medium a customer sent: an image, a document, an audio or a video at the provider's URL (its caption is the
 * message's text), or a location.
 */
export type InboundMedia =
  | { type: 'image' | 'document' | 'audio' | 'video'; url: string; caption?: string }
  | { type: 'location'; latitude: number; longitude: number; name?: string; address?: string };

/** What the inbound webhook signals: one inbound message of the customer. */
export interface AnswerSignal {
  /** The provider's id of the inbound message: a repeated delivery of it is ignored. */
  messageId: string;
  text: string;
  /** ISO 8601, as the provider received it. */
  receivedAt: string;
  /** What it carries besides its text; absent for a text or a button. */
  media?: InboundMedia;
}

/** What a delivery report signals about an outgoing message of the conversation. */
export interface DeliveryStatusSignal {
  providerMessageId: string;
  status: 'delivered' | 'read' | 'failed';
  code?: string;
}

/**
 * The messages of the `conversation` workflow, the one place they are defined: the workflow handles them and the API
 * sends them through these definitions, never by name. The names are on the wire and in recorded histories: they stay.
 */

/** A customer's message for the open conversation of (business number, customer), from the inbound webhook. */
export const answerSignal = defineSignal<[AnswerSignal]>('answer');

/** A delivery report of one of the conversation's outgoing messages. */
export const deliveryStatusSignal = defineSignal<[DeliveryStatusSignal]>('deliveryStatus');

/**
 * The inbound webhook gives an answer as this update, which it waits on: the conversation says what it did with it
 * (`AnswerTaken`), so that an answer no running conversation took goes elsewhere instead of being recorded as routed
 * and reaching no one. A webhook that cannot wait for a worker sends `answerSignal` instead.
 */
export const answerUpdate = defineUpdate<AnswerTaken, [AnswerSignal]>('takeAnswer');

/** At most this many invalid answers, then the conversation closes as `failed`. */
export const MAX_INVALID_ANSWERS = 20;

/** What an answer is: one of `acceptedResponses` (its index), a match of `dynamicResponseRegex`, or neither. */
export type AnswerClassification =
  | { classification: 'accepted'; acceptedResponse: number }
  | { classification: 'regex' }
  | { classification: 'invalid'; regexTimedOut?: true };

/** Where a webhook call goes: an entry of `acceptedResponses`, or one of `webhook`. */
export type ConversationWebhookTarget = `accepted:${number}` | 'defaultInbound' | 'status' | 'invalidResponse';

/** What a webhook call says; the activity adds the conversation id, the numbers and the context. */
export type ConversationWebhookPayload =
  | { event: 'answer'; status: ConversationStatus; answer: AnswerSignal & AnswerClassification }
  /** An answer that came after the conversation decided (or timed out), to `webhook.defaultInbound`. */
  | { event: 'late_answer'; status: ConversationStatus; answer: AnswerSignal }
  | { event: 'delivery'; status: ConversationStatus; delivery: DeliveryStatusSignal }
  | { event: 'timeout'; status: 'timed_out' }
  | { event: 'failed'; status: 'failed'; reason: string };
