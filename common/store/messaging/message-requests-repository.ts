import type { Collection, Filter } from 'mongodb';
import { isDuplicateKey, type Database } from '../db';
import { sendRetentionFrom } from '../retention';
import type { TemplateButton, TemplateMedia } from '../templates-repository';

/** The channels of `POST /messages` (the OS1 shape): one array of message objects each. */
export const MESSAGE_CHANNELS = ['sms', 'email', 'whatsapp'] as const;
export type MessageChannel = (typeof MESSAGE_CHANNELS)[number];

/** A message's WhatsApp media and buttons, in the shapes mode templates store them. */
export type { TemplateMedia as WhatsappMedia, TemplateButton as WhatsappButton } from '../templates-repository';

/** One message object of a request as accepted: addresses normalized, provider and template resolved by name. */
export interface StoredMessage {
  /** `<requestId>-<n>`, what the callbacks and `GET /messages/:requestId` name it by. */
  messageId: string;
  /** Its place in the request, from 1: the ledger's key is `<requestId>|<channel>|<n>/<address index>`. */
  n: number;
  channel: MessageChannel;
  /** The mode template's name; its content is read when the message is dispatched. */
  template: string;
  /**
   * The version of the template sent (kept in `template_versions`): the one its notification approved. Absent: the
   * template's latest content, as a direct `POST /messages` sends.
   */
  templateVersion?: number;
  /** The registered provider that sends it; null: the configured provider of the channel (docs/configuration.md). */
  provider: string | null;
  data: Record<string, unknown>;
  /** E.164 phone numbers or email addresses; cc and bcc (email) travel on each `to` address's email. */
  to: string[];
  cc: string[];
  bcc: string[];
  from?: string;
  senderId?: string;
  originationNumber?: string;
  media?: TemplateMedia;
  buttons?: TemplateButton[];
  /** An email's category, named in its one-click unsubscribe link. */
  category?: string;
  /** An email without unsubscribe link. */
  critical?: boolean;
}

/** `scheduled` waits for its `sendAt`; `cancelled` was stopped by `DELETE /messages/:id` or its cancellation key. */
export type MessageRequestStatus = 'scheduled' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface MessageRequestDocument {
  /**
   * `msg-<uuid>`, `msg-idem-<hash>` for an `Idempotency-Key`, `sched-<scheduleId>-<firing time>` for a firing of a
   * recurring send: also the workflow id.
   */
  _id: string;
  /** The digest of the body of a request with an `Idempotency-Key`: a repeat with another body is refused. */
  requestDigest?: string;
  /** The notification it was sent by (`POST /messages/notifications`). */
  notification?: string;
  /**
   * The application that asked: the `appId` of the notification it was sent by, or the one a direct `POST /messages`
   * named; absent when it named none. Its placeholders fill the request's templates.
   */
  appId?: string;
  /** The API key that asked (`AuthenticatedKey.id`), whose secret signs the callbacks; null without `API_KEYS`. */
  apiKeyId: string | null;
  callback?: { url: string; meta: Record<string, unknown> };
  messages: StoredMessage[];
  status: MessageRequestStatus;
  /** A scheduled request: when it goes out (moved by `PATCH /messages/:requestId` while it waits). */
  sendAt?: Date;
  /** The caller's key that `POST /sends/cancel` cancels it by. */
  cancellationKey?: string;
  /** A firing of a recurring send (`POST /schedules` with `messages`): its schedule. */
  scheduleId?: string;
  createdAt: Date;
  /**
   * What its retention counts from: its `sendAt` while it waits for one, else its `createdAt` (set by the repository).
   * Absent on requests written before: they count from `createdAt`.
   */
  retentionFrom?: Date;
  updatedAt: Date;
  completedAt?: Date;
}

/** The ledger's `userId` of one address of one message: `<n>/<address index>`. */
export const messageAddressKey = (n: number, addressIndex: number): string => `${n}/${addressIndex}`;

/** The message number and address index of a ledger `userId` written by `messageAddressKey`. */
export function parseMessageAddressKey(key: string): { n: number; addressIndex: number } {
  const [n, addressIndex] = key.split('/').map(Number);
  return { n, addressIndex };
}

/** Which requests `MessageRequestsRepository.list` answers (`GET /messages`). */
export interface MessageRequestListFilter {
  status?: MessageRequestStatus;
  appId?: string;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
  /** Due at or after (scheduled requests). */
  sendAtFrom?: Date;
  /** Due before (scheduled requests). */
  sendAtTo?: Date;
  limit: number;
  skip: number;
}

/** `POST /messages` requests (`message_requests`), keyed by request id. */
export class MessageRequestsRepository {
  private readonly requests: Collection<MessageRequestDocument>;

  constructor(database: Pick<Database, 'messageRequests'>) {
    this.requests = database.messageRequests;
  }

  /** Stores a new request; when its id is taken (a repeated `Idempotency-Key`), leaves it and answers the stored one. */
  async createOrGet(request: MessageRequestDocument): Promise<MessageRequestDocument> {
    try {
      const stored = { ...request, retentionFrom: sendRetentionFrom(request) };
      await this.requests.insertOne(stored);
      return stored;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const stored = await this.get(request._id);
      if (!stored) throw error;
      return stored;
    }
  }

  async get(requestId: string): Promise<MessageRequestDocument | null> {
    return this.requests.findOne({ _id: requestId });
  }

  /**
   * A page of requests, newest first (the `by_status_created` and `by_app_created` indexes, or the `createdAt` one),
   * without their messages' data and addresses, which can be large and are personal data.
   */
  async list(filter: MessageRequestListFilter): Promise<MessageRequestDocument[]> {
    const query: Filter<MessageRequestDocument> = {};
    if (filter.status) query.status = filter.status;
    if (filter.appId !== undefined) query.appId = filter.appId;
    if (filter.from || filter.to) {
      query.createdAt = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    }
    if (filter.sendAtFrom || filter.sendAtTo) {
      query.sendAt = {
        ...(filter.sendAtFrom ? { $gte: filter.sendAtFrom } : {}),
        ...(filter.sendAtTo ? { $lt: filter.sendAtTo } : {}),
      };
    }
    return this.requests
      .find(query, {
        projection: {
          'messages.data': 0,
          'messages.to': 0,
          'messages.cc': 0,
          'messages.bcc': 0,
          'messages.media': 0,
          'messages.buttons': 0,
        },
      })
      .sort(filter.status === 'scheduled' ? { sendAt: 1, _id: 1 } : { createdAt: -1, _id: 1 })
      .skip(filter.skip)
      .limit(filter.limit)
      .toArray();
  }

  /** The requests of a cancellation key still to cancel (scheduled or running), oldest first, without their messages. */
  cancellableByKey(cancellationKey: string): Promise<Pick<MessageRequestDocument, '_id'>[]> {
    return this.requests
      .find({ cancellationKey, status: { $in: ['scheduled', 'running'] } }, { projection: { _id: 1, createdAt: 1 } })
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
  }

  /** A scheduled request that fired: `running` from now, at the `sendAt` it waited for. */
  async fired(requestId: string, sendAt: Date): Promise<void> {
    await this.requests.updateOne(
      { _id: requestId, status: 'scheduled' },
      { $set: { status: 'running', sendAt, retentionFrom: sendAt, updatedAt: new Date() } },
    );
  }

  /** A scheduled request's new `sendAt`, once its workflow has taken it; nothing when it has fired meanwhile. */
  async rescheduled(requestId: string, sendAt: Date): Promise<void> {
    await this.requests.updateOne(
      { _id: requestId, status: 'scheduled' },
      { $set: { sendAt, retentionFrom: sendAt, updatedAt: new Date() } },
    );
  }

  async finish(requestId: string, status: MessageRequestStatus): Promise<void> {
    const now = new Date();
    await this.requests.updateOne({ _id: requestId }, { $set: { status, updatedAt: now, completedAt: now } });
  }
}
