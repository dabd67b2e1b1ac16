import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { CallbackEventsRepository } from '../../../common/store/messaging/callback-events-repository';
import type { AppConfig } from '../../../common/config/config';
import { badRequest, conflict, HttpError, notFound } from '../../../common/domain/http-errors';
import { messageRequestId } from '../../../common/temporal/workflow-ids';
import { resolveSendAt } from '../send-at';
import { ProviderChoice } from './provider-choice';
import { WhatsappMediaCheck } from './whatsapp-media';
import type { IdempotencyOptions } from '../request-digest';
import type { DeliveriesRepository } from '../../../common/store/deliveries-repository';
import {
  messageAddressKey,
  type MessageChannel,
  type MessageRequestDocument,
  type MessageRequestsRepository,
  type StoredMessage,
  type WhatsappButton,
  type WhatsappMedia,
  MESSAGE_CHANNELS,
  type MessageRequestListFilter,
} from '../../../common/store/messaging/message-requests-repository';
import type { ProvidersRepository } from '../../../common/store/providers-repository';
import { SEARCH_ATTRIBUTES } from '../../../common/temporal/search-attributes';
import type { ModeTemplateDocument, TemplatesRepository } from '../../../common/store/templates-repository';
import type { DeliveryDocument } from '../../../common/domain/send-types';
import { deliverMessages } from '../../../workflows';
import type { DeliverMessagesInput, MessageBatch } from '../../../workflows/deliver-messages';
import { MAX_ADDRESSES_PER_MESSAGE, MAX_MESSAGES_PER_REQUEST, type MessagesBody } from '../../schemas/messages-schemas';

/** A message object as the API accepts it, whichever route it came by (the notification route adds the template). */
interface IncomingMessage {
  template: string;
  /** The approved version of `template` a notification sends; absent: its latest. */
  templateVersion?: number;
  data?: Record<string, unknown>;
  to: (string | { countryCode: string; number: string })[];
  cc?: string[];
  bcc?: string[];
  from?: string;
  senderId?: string;
  originationNumber?: string;
  provider?: string;
  media?: WhatsappMedia;
  buttons?: WhatsappButton[];
  category?: string;
  critical?: boolean;
}

export type IncomingMessages = Partial<Record<MessageChannel, IncomingMessage[]>> &
  Pick<MessagesBody, 'callback' | 'sendAt' | 'delay' | 'cancellationKey'>;

/** A batch's addresses: large enough to keep the history short, small enough for a quick retry. */
export const MESSAGE_BATCH_ADDRESSES = 100;
/** Up to this many message objects, each gets its own dispatch activity, visible one by one in the Temporal UI. */
const ONE_ACTIVITY_PER_MESSAGE_UP_TO = 20;
const DISPATCH_WINDOW = 8;

export interface AcceptedMessages {
  requestId: string;
  workflowId: string;
  statusUrl: string;
  /** A scheduled request: `scheduled`, and when it goes out. */
  status?: 'scheduled';
  sendAt?: string;
  messages: { messageId: string; channel: MessageChannel; to: string[]; status: 'queued' }[];
}

export interface MessageRequestDeps {
  config: AppConfig;
  templates: TemplatesRepository;
  providers: ProvidersRepository;
  requests: MessageRequestsRepository;
  ledger: DeliveriesRepository;
  callbackEvents: CallbackEventsRepository;
  temporal: Client;
}

/** E.164 of an OS1 phone (`{ countryCode: "91", number: "98123 45600" }`), or a 400 naming the field. */
export function normalizePhone(phone: { countryCode: string; number: string }, field: string): string {
  const digits = `+${phone.countryCode.replace(/^\+/, '')}${phone.number.replace(/[\s().-]/g, '')}`;
  const parsed = parsePhoneNumberFromString(digits);
  // Possible (the right length for its country), not "valid": numbering plans change faster than libraries, and the
  // provider is the one that knows whether a number is assigned.
  if (!parsed?.isPossible()) throw badRequest(`${field}: +${digits.slice(1)} is not a possible phone number`);
  return parsed.number;
}

/**
 * The batches of a request's dispatch activities: per channel, consecutive message objects up to
 * `MESSAGE_BATCH_ADDRESSES` addresses; one per message object in a small request.
 */
export function planMessageBatches(messages: Pick<StoredMessage, 'n' | 'channel' | 'to'>[]): MessageBatch[] {
  const onePerMessage = messages.length <= ONE_ACTIVITY_PER_MESSAGE_UP_TO;
  const batches: MessageBatch[] = [];
  let open: (MessageBatch & { addresses: number }) | undefined;
  for (const message of messages) {
    if (open && (onePerMessage || open.channel !== message.channel || open.addresses >= MESSAGE_BATCH_ADDRESSES)) {
      batches.push({ channel: open.channel, first: open.first, last: open.last });
      open = undefined;
    }
    open ??= { channel: message.channel, first: message.n, last: message.n, addresses: 0 };
    open.last = message.n;
    open.addresses += message.to.length;
  }
  if (open) batches.push({ channel: open.channel, first: open.first, last: open.last });
  return batches;
}

/** The input of a request's `deliverMessages`, without a scheduled request's `sendAt`. */
export function deliverMessagesInput(
  config: AppConfig,
  requestId: string,
  messages: StoredMessage[],
  withCallback: boolean,
): DeliverMessagesInput {
  return {
    requestId,
    batches: planMessageBatches(messages),
    retry: config.service.dispatchRetry,
    dispatchWindow: DISPATCH_WINDOW,
    ...(withCallback ? { callbacks: { retryWindowMs: config.service.callbacks.retryWindowMinutes * 60_000 } } : {}),
  };
}

/** A request's summary in its workflow's memo for the UI: counts and names, never addresses or data. */
export function requestMemo(messages: StoredMessage[], notification: string | undefined) {
  return {
    kind: 'messages',
    channels: requestChannels(messages),
    messages: messages.length,
    addresses: messages.reduce((sum, message) => sum + message.to.length, 0),
    notification: notification ?? null,
  };
}

/** The channels a request's messages go by, in the order they first appear. */
export const requestChannels = (messages: Pick<StoredMessage, 'channel'>[]): MessageChannel[] => [
  ...new Set(messages.map((message) => message.channel)),
];

/**
 * `POST /messages` and `GET /messages/:requestId` (docs/os1-messaging.md): checks a request whole before
 * anything is stored (addresses, templates, providers: a 4xx naming the first bad field, and nothing started), stores
 * it, and starts its `deliverMessages` workflow, whose id is the request id.
 */
export class MessageRequests {
  private readonly media: WhatsappMediaCheck;

  constructor(private readonly deps: MessageRequestDeps) {
    this.media = new WhatsappMediaCheck(deps.config.env);
  }

  close(): Promise<void> {
    return this.media.close();
  }

  /**
   * With an `Idempotency-Key` the request id is derived from the key: a repeated request (the same body) answers the
   * stored request and starts its workflow if a crash stopped the first before that; another body is a 422.
   */
  async accept(
    body: IncomingMessages,
    options: { apiKeyId: string | null; notification?: string; appId?: string; idempotency?: IdempotencyOptions },
  ): Promise<AcceptedMessages> {
    const sendAt = resolveSendAt(body, new Date());
    const { idempotency } = options;
    const requestId = messageRequestId(idempotency?.key);
    let messages = await this.prepare(body, requestId);

    const now = new Date();
    const stored = await this.deps.requests.createOrGet({
      _id: requestId,
      ...(idempotency ? { requestDigest: idempotency.digest } : {}),
      ...(options.notification ? { notification: options.notification } : {}),
      ...(options.appId ? { appId: options.appId } : {}),
      apiKeyId: options.apiKeyId,
      ...(body.callback ? { callback: { url: body.callback.url, meta: body.callback.meta ?? {} } } : {}),
      messages,
      status: sendAt ? 'scheduled' : 'running',
      ...(sendAt ? { sendAt } : {}),
      ...(body.cancellationKey !== undefined ? { cancellationKey: body.cancellationKey } : {}),
      createdAt: now,
      updatedAt: now,
    });
    if (stored.requestDigest !== idempotency?.digest) {
      throw new HttpError(422, `Idempotency-Key: ${idempotency?.key} was used for a different request`);
    }
    // The stored request's messages: a provider chosen as the tenant default may have changed since the first time.
    messages = stored.messages;
    const input: DeliverMessagesInput = {
      ...deliverMessagesInput(this.deps.config, requestId, messages, body.callback !== undefined),
      // A repeated request (same key, same body) keeps the first one's time, not one counted from now.
      ...(stored.sendAt ? { sendAt: stored.sendAt.toISOString() } : {}),
    };
    await this.startWorkflow(requestId, input, messages, options.notification);
    return {
      requestId,
      workflowId: requestId,
      statusUrl: `/messages/${encodeURIComponent(requestId)}`,
      ...(stored.sendAt ? { status: 'scheduled' as const, sendAt: stored.sendAt.toISOString() } : {}),
      messages: messages.map(({ messageId, channel, to }) => ({ messageId, channel, to, status: 'queued' })),
    };
  }

  /**
   * A request's message objects checked whole (counts, addresses, templates, providers, media; a callback needs
   * `WEBHOOK_SECRET`), as they are stored under `requestId`: an `HttpError` naming the first bad field otherwise.
   * Stores and starts nothing.
   */
  async prepare(body: IncomingMessages, requestId: string): Promise<StoredMessage[]> {
    const incoming = MESSAGE_CHANNELS.flatMap((channel) =>
      (body[channel] ?? []).map((message, index) => ({ channel, message, field: `${channel}[${index}]` })),
    );
    if (incoming.length === 0) throw badRequest('sms, email, whatsapp: a request needs at least one message object');
    if (incoming.length > MAX_MESSAGES_PER_REQUEST) {
      throw badRequest(
        `sms, email, whatsapp: at most ${MAX_MESSAGES_PER_REQUEST} message objects per request, got ${incoming.length}`,
      );
    }
    if (body.callback && !this.deps.config.env.WEBHOOK_SECRET) {
      throw new HttpError(503, 'callback: WEBHOOK_SECRET is not set, so callbacks cannot be signed');
    }

    const templates = new Map<string, Promise<ModeTemplateDocument | null>>();
    const providerChoice = new ProviderChoice(this.deps);
    const messages: StoredMessage[] = [];
    for (const [index, { channel, message, field }] of incoming.entries()) {
      const addressCount = message.to.length + (message.cc?.length ?? 0) + (message.bcc?.length ?? 0);
      if (addressCount > MAX_ADDRESSES_PER_MESSAGE) {
        throw badRequest(
          `${field}.to: at most ${MAX_ADDRESSES_PER_MESSAGE} addresses per message, to, cc and bcc together (got ${addressCount})`,
        );
      }
      const to = message.to.map((address, position) =>
        typeof address === 'string' ? address : normalizePhone(address, `${field}.to[${position}]`),
      );
      const template = await this.checkTemplate(templates, message.template, channel, `${field}.template`);
      // The message's own category wins over its template's.
      const category = message.category ?? template.category;
      // A category the configuration lists as critical is critical wherever it comes from: its email has no link.
      const critical =
        message.critical || (category !== undefined && this.deps.config.service.criticalCategories.includes(category));
      const provider = await providerChoice.choose(message.provider, channel, `${field}.provider`);
      if (channel === 'whatsapp') await this.media.check(message.media, `${field}.media`);
      if (channel === 'sms' && message.originationNumber !== undefined)
        await providerChoice.checkOriginationNumber(provider, message.originationNumber, `${field}.originationNumber`);
      const n = index + 1;
      messages.push({
        messageId: `${requestId}-${n}`,
        n,
        channel,
        template: template.name,
        ...(message.templateVersion !== undefined ? { templateVersion: message.templateVersion } : {}),
        provider,
        data: message.data ?? {},
        to,
        cc: message.cc ?? [],
        bcc: message.bcc ?? [],
        ...(message.from ? { from: message.from } : {}),
        ...(message.senderId ? { senderId: message.senderId } : {}),
        ...(message.originationNumber ? { originationNumber: message.originationNumber } : {}),
        ...(message.media ? { media: message.media } : {}),
        ...(message.buttons ? { buttons: message.buttons } : {}),
        ...(category ? { category } : {}),
        ...(critical ? { critical: true } : {}),
      });
    }

    return messages;
  }

  /** Starts the request's `deliverMessages`, once: a repeated request finds it started. */
  private async startWorkflow(
    requestId: string,
    input: DeliverMessagesInput,
    messages: StoredMessage[],
    notification: string | undefined,
  ): Promise<void> {
    const channels = requestChannels(messages);
    await this.deps.temporal.workflow
      .start(deliverMessages, {
        workflowId: requestId,
        taskQueue: this.deps.config.env.TEMPORAL_TASK_QUEUE,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.channels, value: channels },
          // A scheduled request shows as such from its start, before its first workflow task.
          ...(input.sendAt
            ? [
                { key: SEARCH_ATTRIBUTES.sendStatus, value: 'scheduled' },
                { key: SEARCH_ATTRIBUTES.scheduledFor, value: new Date(input.sendAt) },
              ]
            : []),
        ],
        memo: requestMemo(messages, notification),
        args: [input],
      })
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      });
  }

  /** The request with each address's status from the ledger; null for an unknown id. */
  /** A page of requests for `GET /messages`, newest first. */
  list(filter: MessageRequestListFilter): Promise<MessageRequestDocument[]> {
    return this.deps.requests.list(filter);
  }

  async status(requestId: string) {
    const request = await this.deps.requests.get(requestId);
    if (!request) return null;
    const entries = new Map<string, DeliveryDocument>();
    for (let cursor: string | undefined; ;) {
      const page = await this.deps.ledger.deliveries(requestId, { cursor, limit: 1000 });
      for (const entry of page.deliveries) entries.set(`${entry.channel}|${entry.userId}`, entry);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const events = request.callback ? await this.deps.callbackEvents.countsByState(requestId) : undefined;
    return { request, entries, events };
  }

  private checkTemplate(
    cache: Map<string, Promise<ModeTemplateDocument | null>>,
    name: string,
    channel: MessageChannel,
    field: string,
  ): Promise<ModeTemplateDocument> {
    if (!cache.has(name)) cache.set(name, this.deps.templates.findModeTemplate(name));
    return cache.get(name)!.then((template) => {
      if (!template) throw notFound(`${field}: no template is named "${name}"`);
      if (template.mode !== channel)
        throw badRequest(`${field}: template "${name}" is a ${template.mode} template, not ${channel}`);
      if (!template.isActive) throw conflict(`${field}: template "${name}" is inactive`);
      return template;
    });
  }
}

/** The status of one address of a stored request, for `GET /messages/:requestId`. */
export function addressStatus(entry: DeliveryDocument | undefined, to: string) {
  return {
    to,
    status: entry?.status ?? 'pending',
    code: entry?.code ?? null,
    error: entry?.error ?? null,
    providerMessageId: entry?.providerMessageId ?? null,
    updatedAt: entry?.updatedAt ?? null,
  };
}

/** A request in `GET /messages`: what it is and how it stands, without its messages' data and addresses. */
export function summarizeRequest(request: MessageRequestDocument) {
  return {
    requestId: request._id,
    workflowId: request._id,
    status: request.status,
    sendAt: request.sendAt ?? null,
    cancellationKey: request.cancellationKey ?? null,
    appId: request.appId ?? null,
    notification: request.notification ?? null,
    messages: request.messages.length,
    channels: MESSAGE_CHANNELS.filter((channel) => request.messages.some((message) => message.channel === channel)),
    statusUrl: `/messages/${encodeURIComponent(request._id)}`,
    createdAt: request.createdAt,
    completedAt: request.completedAt ?? null,
  };
}

/** `GET /messages/:requestId`'s answer. */
export function describeRequest(
  request: MessageRequestDocument,
  entries: Map<string, DeliveryDocument>,
  events: Record<'pending' | 'delivered' | 'expired', number> | undefined,
  temporalUiUrl: string,
) {
  return {
    requestId: request._id,
    workflowId: request._id,
    status: request.status,
    sendAt: request.sendAt ?? null,
    notification: request.notification ?? null,
    temporalUiUrl,
    callback: request.callback && events ? { url: request.callback.url, events } : null,
    messages: request.messages.map((message) => ({
      messageId: message.messageId,
      channel: message.channel,
      template: message.template,
      templateVersion: message.templateVersion ?? null,
      provider: message.provider,
      addresses: message.to.map((to, index) =>
        addressStatus(entries.get(`${message.channel}|${messageAddressKey(message.n, index)}`), to),
      ),
    })),
    createdAt: request.createdAt,
    completedAt: request.completedAt ?? null,
  };
}
