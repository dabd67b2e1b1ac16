import type { Collection } from 'mongodb';
import { insertWhereFree, isDuplicateKey, type Database } from '../db';
import type { DeliveryDocument, DeliveryStatus } from '../../domain/send-types';

/** The provider families whose delivery reports come in on a webhook of ours (SES and Pinpoint through Amazon SNS). */
export type ReportingProvider = 'twilio' | 'infobip' | 'ses' | 'pinpoint';

/** What a provider's report says of one message, in our words. */
export interface DeliveryReport {
  provider: ReportingProvider;
  providerMessageId: string;
  status: 'delivered' | 'read' | 'failed';
  code?: string;
  error?: string;
  /**
   * Who the webhook's token proves sent the report: a registered provider's name, or null for the configured provider
   * (the path's token alone). A report moves only messages sent through that provider.
   */
  sender: string | null;
}

/** A report that came before its message's provider id was stored, kept for `remember` to apply. */
type EarlyReport = Pick<DeliveryReport, 'code' | 'error' | 'sender'>;

export interface ProviderMessageDocument {
  /** `<provider>:<provider message id>`. */
  _id: string;
  /** Absent while the document only keeps early reports (`early`). */
  requestId?: string;
  deliveryKey?: string;
  /**
   * The registered provider the message went through, null for the configured one; absent on documents written
   * before reports were matched to their sender (any sender's report is taken for those).
   */
  providerName?: string | null;
  /** Reports that came before the provider id was stored, one per status. */
  early?: Partial<Record<DeliveryReport['status'], EarlyReport>>;
  createdAt: Date;
}

/** One message to remember: its provider id, its ledger entry, and the registered provider it went through. */
export interface SentProviderMessage {
  provider: ReportingProvider;
  providerMessageId: string;
  deliveryKey: string;
  /** The registered provider's name, null for the configured provider. */
  providerName: string | null;
}

/** A report that `remember` applied on storing its message's provider id: the entry it moved, and the report. */
export interface AppliedEarlyReport {
  deliveryKey: string;
  report: DeliveryReport;
}

/** The statuses a report may move an entry from: forward only, so a late or repeated report changes nothing. */
const MOVES_FROM: Record<DeliveryReport['status'], DeliveryStatus[]> = {
  delivered: ['sent'],
  read: ['sent', 'delivered'],
  failed: ['sent', 'delivered'],
};

/** The order early reports are applied in: each one's move is allowed after the one before. */
const EARLY_ORDER: DeliveryReport['status'][] = ['delivered', 'read', 'failed'];

const providerMessageKey = (provider: ReportingProvider, providerMessageId: string) =>
  `${provider}:${providerMessageId}`;

/** Whether a report's sender may speak for a remembered message. */
const sentBy = (known: Pick<ProviderMessageDocument, 'providerName'>, sender: string | null): boolean =>
  known.providerName === undefined || known.providerName === sender;

/**
 * Delivery reports (docs/os1-messaging.md): a sent message's provider id is written beside its ledger entry
 * (`provider_messages`), so that the report, which names only the provider's id, finds the entry and moves it on.
 * A report can come before the id is written (the provider answers the webhook before our batch has stored what it
 * sent): it is kept on the same key, and applied when the id is.
 */
export class DeliveryReportsRepository {
  private readonly providerMessages: Collection<ProviderMessageDocument>;
  private readonly deliveries: Collection<DeliveryDocument>;

  constructor(database: Pick<Database, 'providerMessages' | 'deliveries'>) {
    this.providerMessages = database.providerMessages;
    this.deliveries = database.deliveries;
  }

  /**
   * Remembers which ledger entry each provider message id delivers; repeats are ignored. Reports that came before
   * (kept by `apply`) are applied now, when their sender sent the message: the entries they moved are answered,
   * for the caller to owe their callbacks.
   */
  async remember(requestId: string, sent: SentProviderMessage[]): Promise<AppliedEarlyReport[]> {
    if (sent.length === 0) return [];
    const now = new Date();
    const taken = await insertWhereFree(
      this.providerMessages,
      sent.map(({ provider, providerMessageId, deliveryKey, providerName }) => ({
        _id: providerMessageKey(provider, providerMessageId),
        requestId,
        deliveryKey,
        providerName,
        createdAt: now,
      })),
    );
    const applied: AppliedEarlyReport[] = [];
    // Taken keys are repeats (a retried batch) or documents of early reports: only the latter gain the mapping here.
    for (const index of taken) {
      const { provider, providerMessageId, deliveryKey, providerName } = sent[index];
      const kept = await this.providerMessages.findOneAndUpdate(
        { _id: providerMessageKey(provider, providerMessageId), deliveryKey: { $exists: false } },
        { $set: { requestId, deliveryKey, providerName } },
        { returnDocument: 'before' },
      );
      if (!kept?.early) continue;
      for (const status of EARLY_ORDER) {
        const early = kept.early[status];
        if (!early || early.sender !== providerName) continue;
        const report: DeliveryReport = { provider, providerMessageId, status, ...early };
        if (await this.move({ requestId, deliveryKey }, report)) applied.push({ deliveryKey, report });
      }
    }
    return applied;
  }

  /**
   * Moves the report's ledger entry forward. Null when the message is not one of ours, was sent through another
   * provider than the report's sender, or the entry is past the reported status (the report changes nothing and no
   * callback is owed). A report of an id not stored yet is kept, for `remember` to apply, and answered null. An
   * entry already at the reported status is a repeated report, maybe of one whose callback a crash lost: it is
   * answered as a change again, and the callback outbox, keyed by the change, keeps it to one event.
   */
  async apply(report: DeliveryReport): Promise<{ requestId: string; deliveryKey: string } | null> {
    const _id = providerMessageKey(report.provider, report.providerMessageId);
    const known = await this.providerMessages.findOne({ _id });
    if (!known?.deliveryKey || !known.requestId) {
      const kept = await this.keepEarly(_id, report);
      // The id was stored between the read and the write: the report is applied as any other.
      return kept ? null : this.apply(report);
    }
    if (!sentBy(known, report.sender)) return null;
    return this.move({ requestId: known.requestId, deliveryKey: known.deliveryKey }, report);
  }

  /** Keeps a report of an id not stored yet; false when the id was stored meanwhile. */
  private async keepEarly(_id: string, report: DeliveryReport): Promise<boolean> {
    const early: EarlyReport = {
      sender: report.sender,
      ...(report.code !== undefined ? { code: report.code } : {}),
      ...(report.error !== undefined ? { error: report.error } : {}),
    };
    try {
      await this.providerMessages.updateOne(
        { _id, deliveryKey: { $exists: false } },
        { $set: { [`early.${report.status}`]: early }, $setOnInsert: { createdAt: new Date() } },
        { upsert: true },
      );
      return true;
    } catch (error) {
      // The upsert found the stored id (which its filter excludes) and tried to insert the key again.
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  private async move(
    known: { requestId: string; deliveryKey: string },
    report: DeliveryReport,
  ): Promise<{ requestId: string; deliveryKey: string } | null> {
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
    if (moved.modifiedCount === 1) return known;
    const entry = await this.deliveries.findOne({ _id: known.deliveryKey }, { projection: { status: 1 } });
    return entry?.status === report.status ? known : null;
  }
}
