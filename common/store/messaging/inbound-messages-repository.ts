import type { InboundMessageDocument, InboundRoute } from '../../domain/inbound-message-model';
import { isDuplicateKey, type Database } from '../db';

/** What one post to a provider's default inbound webhook came to. */
export interface InboundWebhookOutcome {
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: Date;
}

/**
 * Inbound WhatsApp messages (`inbound_messages`, docs/whatsapp.md "Two-way WhatsApp"), keyed by (provider, message id):
 * a provider's repeated call finds the message it recorded, and its route says whether it still needs routing.
 */
export class InboundMessagesRepository {
  constructor(private readonly database: Pick<Database, 'inboundMessages'>) {}

  /** Records a message; false when it was recorded before (a repeated call). */
  async recordOnce(message: InboundMessageDocument): Promise<boolean> {
    try {
      await this.database.inboundMessages.insertOne(message);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Where a recorded message went (`pending` while it is not routed yet); undefined for an unknown one. */
  async routeOf(inboundId: string): Promise<InboundRoute | undefined> {
    const known = await this.database.inboundMessages.findOne({ _id: inboundId }, { projection: { routed: 1 } });
    return known?.routed;
  }

  async setRoute(
    inboundId: string,
    routed: Exclude<InboundRoute, 'pending'>,
    conversationId: string | null,
  ): Promise<void> {
    await this.database.inboundMessages.updateOne(
      { _id: inboundId },
      { $set: { routed, conversationId, routedAt: new Date() } },
    );
  }

  get(inboundId: string): Promise<InboundMessageDocument | null> {
    return this.database.inboundMessages.findOne({ _id: inboundId });
  }

  /** The message's provider no longer has a default inbound webhook: said on the message, no attempt counted. */
  async webhookGone(inboundId: string): Promise<void> {
    await this.database.inboundMessages.updateOne(
      { _id: inboundId },
      { $set: { 'webhook.lastError': 'the provider has no default inbound webhook any more' } },
    );
  }

  /** Counts one post to the default inbound webhook and keeps its outcome (a delivery clears the last error). */
  async recordWebhookAttempt(inboundId: string, outcome: InboundWebhookOutcome): Promise<void> {
    const set = Object.fromEntries(Object.entries(outcome).map(([field, value]) => [`webhook.${field}`, value]));
    await this.database.inboundMessages.updateOne(
      { _id: inboundId },
      {
        $inc: { 'webhook.attempts': 1 },
        $set: set,
        ...(outcome.deliveredAt ? { $unset: { 'webhook.lastError': '' as const } } : {}),
      },
    );
  }
}
