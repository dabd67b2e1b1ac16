import type { Collection } from 'mongodb';
import { insertWhereFree, type Database } from './db';
import type { DeliveryDocument, DeliveryStatus } from './types';

/** The provider families whose delivery reports come in on a webhook of their own. */
export type ReportingProvider = 'twilio' | 'infobip';

/** What a provider's report says of one message, in our words. */
export interface DeliveryReport {
  provider: ReportingProvider;
  providerMessageId: string;
  status: 'delivered' | 'read' | 'failed';
  code?: string;
  error?: string;
}

interface ProviderMessageDocument {
  /** `<provider>:<provider message id>`. */
  _id: string;
  requestId: string;
  deliveryKey: string;
  createdAt: Date;
}

/** The statuses a report may move an entry from: forward only, so a late or repeated report changes nothing. */
const MOVES_FROM: Record<DeliveryReport['status'], DeliveryStatus[]> = {
  delivered: ['sent'],
  read: ['sent', 'delivered'],
  failed: ['sent', 'delivered'],
};

const providerMessageKey = (provider: ReportingProvider, providerMessageId: string) =>
  `${provider}:${providerMessageId}`;

/**
 * Delivery reports (README "OS1-style messaging"): a sent message's provider id is written beside its ledger entry
 * (`provider_messages`), so that the report, which names only the provider's id, finds the entry and moves it on.
 */
export class DeliveryReports {
  private readonly providerMessages: Collection<ProviderMessageDocument>;
  private readonly deliveries: Collection<DeliveryDocument>;

  constructor(database: Pick<Database, 'providerMessages' | 'deliveries'>) {
    this.providerMessages = database.providerMessages as unknown as Collection<ProviderMessageDocument>;
    this.deliveries = database.deliveries;
  }

  /** Remembers which ledger entry each provider message id delivers; repeats are ignored. */
  async remember(
    requestId: string,
    sent: { provider: ReportingProvider; providerMessageId: string; deliveryKey: string }[],
  ): Promise<void> {
    if (sent.length === 0) return;
    const now = new Date();
    await insertWhereFree(
      this.providerMessages,
      sent.map(({ provider, providerMessageId, deliveryKey }) => ({
        _id: providerMessageKey(provider, providerMessageId),
        requestId,
        deliveryKey,
        createdAt: now,
      })),
    );
  }

  /**
   * Moves the report's ledger entry forward. Null when the message is not one of ours or the entry is past the
   * reported status (the report changes nothing and no callback is owed). An entry already at the reported status is
   * a repeated report, maybe of one whose callback a crash lost: it is answered as a change again, and the callback
   * outbox, keyed by the change, keeps it to one event.
   */
  async apply(report: DeliveryReport): Promise<{ requestId: string; deliveryKey: string } | null> {
    const known = await this.providerMessages.findOne({
      _id: providerMessageKey(report.provider, report.providerMessageId),
    });
    if (!known) return null;
    const now = new Date();
    const moved = await this.deliveries.updateOne(
      { _id: known.deliveryKey, status: { $in: MOVES_FROM[report.status] } },
      {
        $set: {
          status: report.status,
          updatedAt: now,
          ...(report.status === 'failed' ? { code: report.code, error: report.error, permanent: true } : {}),
          ...(report.status === 'delivered' ? { deliveredAt: now } : {}),
          ...(report.status === 'read' ? { readAt: now } : {}),
        },
      },
    );
    if (moved.modifiedCount === 1) return { requestId: known.requestId, deliveryKey: known.deliveryKey };
    const entry = await this.deliveries.findOne({ _id: known.deliveryKey }, { projection: { status: 1 } });
    return entry?.status === report.status ? { requestId: known.requestId, deliveryKey: known.deliveryKey } : null;
  }
}
