import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { isOptOutReply, normalAddress } from '../../../common/domain/suppression-address';
import type { SuppressionsRepository } from '../../../common/store/suppressions-repository';
import {
  answerSignal,
  answerUpdate,
  conversationLockKey,
  type AnswerSignal,
  type InboundMedia,
} from '../../../common/domain/conversation-model';
import {
  inboundMessageKey,
  routeInboundWorkflowId,
  type InboundMessageDocument,
  type InboundRoute,
} from '../../../common/domain/inbound-message-model';
import type {
  ConversationLockDocument,
  ConversationsRepository,
} from '../../../common/store/messaging/conversations-repository';
import type { InboundMessagesRepository } from '../../../common/store/messaging/inbound-messages-repository';
import type { ProviderDocument } from '../../../common/store/providers-repository';
import { routeInboundMessage } from '../../../workflows';

/**
 * How long the inbound webhook waits for a conversation to take an answer (one workflow task, milliseconds with a
 * worker up); past it the answer is signalled instead, which the server keeps until a worker runs the conversation.
 * Short, since the provider waits for the call's answer (Infobip-like callers give up after a few seconds).
 */
const ANSWER_UPDATE_DEADLINE_MS = 2_000;

/** One message of a provider's inbound call, as the route parsed it (Infobip's result). */
export interface InboundResult {
  messageId: string;
  from: string;
  to: string;
  receivedAt?: string;
  pairedMessageId?: string | null;
  message: {
    type: string;
    text?: string;
    payload?: string;
    title?: string;
    caption?: string;
    url?: string;
    latitude?: number;
    longitude?: number;
    name?: string;
    address?: string;
  };
}

const MEDIA_TYPES = { IMAGE: 'image', DOCUMENT: 'document', AUDIO: 'audio', VOICE: 'audio', VIDEO: 'video' } as const;

/**
 * The medium of a customer's message (Infobip's `IMAGE`, `DOCUMENT`, `AUDIO`, `VOICE` and `VIDEO` with their `url`
 * and `caption`, `LOCATION` with its coordinates, name and address), or undefined for a text, a button or a type it
 * does not know.
 */
export function mediaOf(message: InboundResult['message']): InboundMedia | undefined {
  const type = message.type.toUpperCase();
  if (type in MEDIA_TYPES && message.url) {
    const kind = MEDIA_TYPES[type as keyof typeof MEDIA_TYPES];
    return { type: kind, url: message.url, ...(message.caption !== undefined ? { caption: message.caption } : {}) };
  }
  if (type === 'LOCATION' && message.latitude !== undefined && message.longitude !== undefined) {
    const { latitude, longitude, name, address } = message;
    return {
      type: 'location',
      latitude,
      longitude,
      ...(name !== undefined ? { name } : {}),
      ...(address !== undefined ? { address } : {}),
    };
  }
  return undefined;
}

/**
 * What a customer's message says, for the conversation to classify: the text, a tapped button's label (Infobip's
 * `BUTTON` text, an interactive reply's title), or a medium's caption; `''` for a message with none (a location, a
 * sticker), which a conversation takes as an invalid answer.
 */
export function textOf(message: InboundResult['message']): string {
  return message.text ?? message.title ?? message.payload ?? message.caption ?? '';
}

/** An ISO time of the provider's `receivedAt` (Infobip writes `2026-01-31T12:00:00.000+0000`), or now. */
function receivedAtOf(value: string | undefined, now: Date): Date {
  const parsed = value === undefined ? NaN : Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(parsed) ? now : new Date(parsed);
}

/**
 * The inbound WhatsApp messages of `POST /webhooks/whatsapp/:provider/communications` (docs/whatsapp.md).
 * Each is recorded first (`inbound_messages`, keyed by provider and message id, `routed: pending`), then routed: to
 * the open conversation of (business number, customer) when it was sent through this provider, whose lock names it,
 * as its `takeAnswer` update, which says what the conversation did with it (`late_answer`: it had decided, and posted
 * it to its own `webhook.defaultInbound`); else, when the provider has a default inbound webhook, to a
 * `routeInboundMessage` workflow that posts it there; else nowhere. The route is written last, so a repeated call of
 * a message already routed is skipped, and one whose first call died before its route was written is routed again
 * (an update the conversation answers `repeated` by message id, a workflow start that its id makes happen once).
 * Nothing is logged of the numbers or the text.
 */
export class InboundMessages {
  constructor(
    private readonly repositories: {
      inboundMessages: InboundMessagesRepository;
      conversations: ConversationsRepository;
      suppressions: Pick<SuppressionsRepository, 'add'>;
    },
    private readonly temporal: Client,
    private readonly options: { taskQueue: string; retryWindowMs: number },
  ) {}

  /** Records and routes each result, in order; answers how many were new and how many repeated. */
  async receive(provider: ProviderDocument, results: InboundResult[]): Promise<{ received: number; repeated: number }> {
    let repeated = 0;
    for (const result of results) {
      const now = new Date();
      const media = mediaOf(result.message);
      const message: InboundMessageDocument = {
        _id: inboundMessageKey(provider.name, result.messageId),
        provider: provider.name,
        messageId: result.messageId,
        from: result.from,
        to: result.to,
        type: result.message.type,
        text: textOf(result.message),
        ...(media ? { media } : {}),
        receivedAt: receivedAtOf(result.receivedAt, now),
        pairedMessageId: result.pairedMessageId ?? null,
        conversationId: null,
        routed: 'pending',
        createdAt: now,
      };
      const { inboundMessages } = this.repositories;
      if (!(await inboundMessages.recordOnce(message)) && (await inboundMessages.routeOf(message._id)) !== 'pending') {
        repeated++;
        continue;
      }
      // STOP and its like: the customer's number is not sent WhatsApp again; the message is routed as any other.
      const sender = isOptOutReply(message.text) ? normalAddress('whatsapp', message.from) : null;
      if (sender)
        await this.repositories.suppressions.add('whatsapp', sender, 'the customer replied STOP', 'inbound-stop');
      const { routed, conversationId } = await this.route(provider, message);
      await inboundMessages.setRoute(message._id, routed, conversationId);
    }
    return { received: results.length - repeated, repeated };
  }

  /**
   * Whether the open conversation was sent through `provider`: a customer's message posted to one provider's inbound
   * URL answers that provider's conversations only (another provider, or whoever holds its URL, cannot answer them).
   * A lock written before locks named their provider is checked against its conversation's document.
   */
  private async sentThrough(lock: ConversationLockDocument, provider: string): Promise<boolean> {
    if (lock.provider !== undefined) return lock.provider === provider;
    return (await this.repositories.conversations.providerOf(lock.conversationId)) === provider;
  }

  private async route(
    provider: ProviderDocument,
    message: InboundMessageDocument,
  ): Promise<{ routed: Exclude<InboundRoute, 'pending'>; conversationId: string | null }> {
    const lock = await this.repositories.conversations.findLock(conversationLockKey(message.to, message.from));
    if (lock && (await this.sentThrough(lock, provider.name))) {
      const answer: AnswerSignal = {
        messageId: message.messageId,
        text: message.text,
        receivedAt: message.receivedAt.toISOString(),
        ...(message.media ? { media: message.media } : {}),
      };
      // An update, waited on: the conversation says whether it took the answer, posted it to its own
      // `webhook.defaultInbound` (it had decided), or left it, which then goes where no conversation awaits it.
      const handle = this.temporal.workflow.getHandle(lock.conversationId);
      try {
        const { taken } = await this.temporal.withDeadline(Date.now() + ANSWER_UPDATE_DEADLINE_MS, () =>
          handle.executeUpdate(answerUpdate, { args: [answer] }),
        );
        if (taken === 'queued' || taken === 'repeated')
          return { routed: 'conversation', conversationId: lock.conversationId };
        if (taken === 'late') return { routed: 'late_answer', conversationId: lock.conversationId };
      } catch (error) {
        // Closed (or never started): the lock outlived it for a moment; the message is nobody's answer, handed on
        // below. Anything else:
        if (!(error instanceof WorkflowNotFoundError || error instanceof WorkflowUpdateFailedError)) {
          // no worker took the update in time (one restarting, a backlog): the server keeps a signal until one does,
          // and the conversation takes it as it takes the update (a late one to its `webhook.defaultInbound`).
          try {
            await handle.signal(answerSignal, answer);
            return { routed: 'conversation', conversationId: lock.conversationId };
          } catch (signalError) {
            if (!(signalError instanceof WorkflowNotFoundError)) throw signalError;
          }
        }
      }
    }
    if (!provider.inboundWebhook) return { routed: 'none', conversationId: null };
    try {
      await this.temporal.workflow.start(routeInboundMessage, {
        workflowId: routeInboundWorkflowId(message._id),
        taskQueue: this.options.taskQueue,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ inboundId: message._id, retryWindowMs: this.options.retryWindowMs }],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    return { routed: 'default_inbound', conversationId: null };
  }
}
