import type { Collection } from 'mongodb';
import {
  conversationLockKey,
  type ConversationDocument,
  type ConversationEventDocument,
  type ConversationEventKind,
  type ConversationStatus,
} from '../../domain/conversation-model';
import type { Database } from '../db';

/**
 * What the conversation activities read and write (README "Two-way WhatsApp"): the conversation's document (its
 * request, secrets included, which only activities read), its transcript (`conversation_events`, each entry keyed by
 * its step so that a retried activity writes it once) and the lock of its (business number, customer).
 */
export class ConversationsRepository {
  private readonly conversations: Collection<ConversationDocument>;
  private readonly events: Collection<ConversationEventDocument>;
  private readonly locks: Collection<{ _id: string; conversationId: string }>;

  constructor(database: Pick<Database, 'conversations' | 'conversationEvents' | 'conversationLocks'>) {
    this.conversations = database.conversations as unknown as Collection<ConversationDocument>;
    this.events = database.conversationEvents as unknown as Collection<ConversationEventDocument>;
    this.locks = database.conversationLocks as unknown as Collection<{ _id: string; conversationId: string }>;
  }

  async get(conversationId: string): Promise<ConversationDocument> {
    const found = await this.conversations.findOne({ _id: conversationId });
    if (!found) throw new Error(`conversation ${conversationId} has no document`);
    return found;
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
    await this.events.updateOne(
      { _id: `${conversationId}|${key}` },
      replaceDetail ? { $set: { detail }, $setOnInsert: firstWrite } : { $setOnInsert: { ...firstWrite, detail } },
      { upsert: true },
    );
  }

  async setStatus(conversationId: string, status: ConversationStatus): Promise<void> {
    await this.conversations.updateOne({ _id: conversationId }, { $set: { status, updatedAt: new Date() } });
  }

  /** The final status, and the lock freed if it is still this conversation's. */
  async close(conversationId: string, status: ConversationStatus): Promise<void> {
    const document = await this.get(conversationId);
    const now = new Date();
    await this.conversations.updateOne(
      { _id: conversationId },
      { $set: { status, updatedAt: now, closedAt: document.closedAt ?? now } },
    );
    await this.record(conversationId, 'closed', status === 'timed_out' ? 'timed_out' : 'closed', { status });
    await this.locks.deleteOne({
      _id: conversationLockKey(document.request.from, document.request.to),
      conversationId,
    });
  }
}
