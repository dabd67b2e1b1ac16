import { mapWithConcurrency } from '../../toolkit/concurrency';
import type { Channel } from '../../config/config';
import { POINT_LOOKUPS_IN_FLIGHT, type Database } from '../db';
import { addCounts, type DeliveryCounts, type Failure, type StatusCounts } from '../../domain/send-types';

/** The failures a batch keeps, and a send's result and document carry: the first in key order. */
export const FAILURES_PER_BATCH = 100;

/**
 * The first `FAILURES_PER_BATCH` of one send's failures in its ledger's key order (`<sendId>|<channel>|<userId>`, the
 * send's own prefix left out), as the ledger lists them.
 */
function firstFailures(failures: Failure[]): Failure[] {
  return failures
    .map((failure) => ({ failure, key: `${failure.channel}|${failure.userId}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, FAILURES_PER_BATCH)
    .map(({ failure }) => failure);
}

/** The final counts of each batch of a send (`batch_counts`), so that its totals need not total its ledger. */
export class BatchCounts {
  constructor(private readonly database: Database) {}

  /**
   * Stores the final counts of one batch of a send (docs/internals.md: counts kept as the send goes), and its first
   * failures in key order: a dispatch batch of an audience page (`batchCountsKey`) or the send's unknown recipients
   * (`missingRecipientsKey`). A replace keyed by the batch, computed from the ledger's states, so an activity retry or
   * a replay that writes it again writes the same thing.
   */
  async recordBatch(
    key: string,
    sendId: string,
    channel: Channel,
    counts: StatusCounts,
    failures: Failure[],
  ): Promise<void> {
    await this.database.batchCounts.replaceOne(
      { _id: key },
      { sendId, channel, counts, failures: firstFailures(failures), createdAt: new Date() },
      { upsert: true },
    );
  }

  /**
   * A send's totals without totalling its ledger: the counts its workflow kept (`kept`, not changed) plus the stored
   * counts of these batches, by point lookups (one per batch, never a scan), with the first `FAILURES_PER_BATCH` of
   * their failures in key order. Null when a batch is missing (dispatched by a version that did not store them): the
   * caller then totals the ledger instead.
   */
  async keptTotals(
    kept: DeliveryCounts,
    batchKeys: string[],
  ): Promise<{ counts: DeliveryCounts; failures: Failure[] } | null> {
    const counts = structuredClone(kept);
    let complete = true;
    const failures: Failure[] = [];
    await mapWithConcurrency(batchKeys, POINT_LOOKUPS_IN_FLIGHT, async (_id) => {
      const doc = await this.database.batchCounts.findOne({ _id });
      if (!doc) {
        complete = false;
        return;
      }
      addCounts(counts, doc.channel, doc.counts);
      failures.push(...(doc.failures ?? []));
    });
    return complete ? { counts, failures: firstFailures(failures) } : null;
  }
}
