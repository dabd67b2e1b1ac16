import type { Filter } from 'mongodb';
import {
  conversationLockKey,
  type ConversationDocument,
  type ConversationEventDocument,
  type ConversationEventKind,
  type ConversationStatus,
} from '../../domain/conversation-model';
import { isDuplicateKey, type Database } from '../db';

/** The one open conversation of (business number, customer), keyed by `conversationLockKey`. */
export interface ConversationLockDocument {
  _id: string;
  conversationId: string;
  /** The registered provider the conversation is sent through; absent on locks written before it was kept. */
  provider?: string;
  createdAt: Date;
}

/** What `GET /conversations` filters by: the customer as E.164, the business number as its digits. */
export interface ConversationListFilter {
  status?: ConversationStatus;
  to?: string;
  from?: string;
  limit: number;
  skip: number;
}

/** The longest transcript `GET /conversations/:id` shows. */
const TRANSCRIPT_LIMIT = 1000;

/**
 * Two-way WhatsApp conversations (docs/whatsapp.md "Two-way WhatsApp"): the conversation's document (its request,
 * secrets included, which only activities read), its transcript (`conversation_events`, each entry keyed by its step so
 * that a retried activity writes it once) and the lock of its (business number, customer) (`conversation_locks`), whose
 * unique `_id` keeps one conversation open per pair.
 */
export class ConversationsRepository {
  private indexes: Promise<unknown> | undefined;

  constructor(
    private readonly database: Pick<Database, 'conversations' | 'conversationEvents' | 'conversationLocks'>,
  ) {}

  /** The indexes of the list and of the transcript, created once per process (idempotent). */
  ensureIndexes(): Promise<unknown> {
    this.indexes ??= Promise.all([
      this.database.conversations.createIndex({ createdAt: -1 }, { name: 'by_created' }),
      this.database.conversationEvents.createIndex({ conversationId: 1, at: 1 }, { name: 'by_conversation' }),
    ]);
    return this.indexes;
  }

  async insert(document: ConversationDocument): Promise<void> {
    await this.database.conversations.insertOne(document);
  }

  find(conversationId: string): Promise<ConversationDocument | null> {
    return this.database.conversations.findOne({ _id: conversationId });
  }

  /** The conversation an activity works on, which exists: the API stored it before starting the workflow. */
  async get(conversationId: string): Promise<ConversationDocument> {
    const found = await this.find(conversationId);
    if (!found) throw new Error(`conversation ${conversationId} has no document`);
    return found;
  }

  /** The provider a conversation is sent through; undefined for an unknown conversation. */
  async providerOf(conversationId: string): Promise<string | undefined> {
    const found = await this.database.conversations.findOne(
      { _id: conversationId },
      { projection: { 'request.provider': 1 } },
    );
    return found?.request?.provider;
  }

  /** Newest first. */
  list(filter: ConversationListFilter): Promise<ConversationDocument[]> {
    const query: Filter<ConversationDocument> = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.to ? { 'request.to': filter.to } : {}),
      ...(filter.from ? { 'request.from': filter.from } : {}),
    };
    return this.database.conversations
      .find(query)
      .sort({ createdAt: -1, _id: -1 })
      .skip(filter.skip)
      .limit(filter.limit)
      .toArray();
  }

  /** The transcript in the order it happened. */
  transcript(conversationId: string): Promise<ConversationEventDocument[]> {
    return this.database.conversationEvents
      .find({ conversationId })
      .sort({ at: 1, _id: 1 })
      .limit(TRANSCRIPT_LIMIT)
      .toArray();
  }

  /**
   * Writes the transcript entry of a step once: a repeat of the step (a retried activity) changes nothing. A step tried
   * again and again (a webhook call) passes `replaceDetail`, so that its entry holds its latest outcome, in place.
   */
  async record(
    conversationId: string,
    key: string,
    kind: ConversationEventKind,
    detail: Record<string, unknown>,
    { replaceDetail = false }: { replaceDetail?: boolean } = {},
  ): Promise<void> {
    const firstWrite = { conversationId, kind, at: new Date(), createdAt: new Date() };
    await this.database.conversationEvents.updateOne(
      { _id: `${conversationId}|${key}` },
      replaceDetail ? { $set: { detail }, $setOnInsert: firstWrite } : { $setOnInsert: { ...firstWrite, detail } },
      { upsert: true },
    );
  }

  async setStatus(conversationId: string, status: ConversationStatus): Promise<void> {
    await this.database.conversations.updateOne({ _id: conversationId }, { $set: { status, updatedAt: new Date() } });
  }

  /** A conversation whose workflow could not be started: failed, and closed. */
  async markFailed(conversationId: string): Promise<void> {
    await this.database.conversations.updateOne(
      { _id: conversationId },
      { $set: { status: 'failed', updatedAt: new Date(), closedAt: new Date() } },
    );
  }

  /** The final status, and the lock freed if it is still this conversation's. */
  async close(conversationId: string, status: ConversationStatus): Promise<void> {
    const document = await this.get(conversationId);
    const now = new Date();
    await this.database.conversations.updateOne(
      { _id: conversationId },
      { $set: { status, updatedAt: now, closedAt: document.closedAt ?? now } },
    );
    await this.record(conversationId, 'closed', status === 'timed_out' ? 'timed_out' : 'closed', { status });
    await this.releaseLock(conversationLockKey(document.request.from, document.request.to), conversationId);
  }

  /** Takes the lock of (business number, customer); false when another conversation holds it. */
  async takeLock(lock: ConversationLockDocument): Promise<boolean> {
    try {
      await this.database.conversationLocks.insertOne(lock);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  findLock(key: string): Promise<ConversationLockDocument | null> {
    return this.database.conversationLocks.findOne({ _id: key });
  }

  /** Frees the lock if `conversationId` still holds it. */
  async releaseLock(key: string, conversationId: string): Promise<void> {
    await this.database.conversationLocks.deleteOne({ _id: key, conversationId });
  }
}
