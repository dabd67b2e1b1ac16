import type { Database } from './db';
import { BatchCounts } from './deliveries/batch-counts';
import { DeferredDeliveries } from './deliveries/deferred-deliveries';
import { FirstRunClaims } from './deliveries/first-run-claims';
import { LedgerOutcomes } from './deliveries/ledger-outcomes';
import { LedgerReads } from './deliveries/ledger-reads';
import { RetryRounds } from './deliveries/retry-rounds';

export { FAILURES_PER_BATCH } from './deliveries/batch-counts';
export { dispatchBatchKey } from './deliveries/first-run-claims';
export type { DeliveryOutcome } from './deliveries/ledger-outcomes';
export { nextPageCursor } from './deliveries/ledger-pages';
export { countFailures, countSent } from './deliveries/ledger-reads';

/**
 * The deliveries ledger (docs/internals.md): one entry per (send, channel, user). Every write is idempotent on its own
 * (inserts keyed by the delivery's unique id, updates by that id) because FerretDB has no transactions and activities
 * may run twice. One class per concern in deliveries/, composed here so that callers hold one repository.
 *
 * Who may send a delivery is decided in `dispatch_claims`, not in the ledger: a dispatch batch claims itself
 * (`claimDispatch`), and a first run's batch claims each of its deliveries (`claimDeliveries`, one `insertMany`) before
 * any provider call; a delivery whose claim another batch holds is left to it. A first run's entries are written only
 * by their claim's holder, so a batch that claims itself for the first time has no entry to read, and its outcomes
 * are inserted with one `insertMany` per flush (`record`). Retry rounds claim the failures they take in the same
 * collection (`claimFailedForRound`).
 *
 * Statuses only move forward (`pending` → `sent`/`failed`/`skipped`, never back): an outcome whose entry exists (the
 * insert's duplicate key) is written only when that entry reads `pending`, so a late outcome of an attempt Temporal
 * already gave up on (a transient failure arriving after another attempt recorded `sent`) changes nothing. Only a
 * retry round (`claimFailedForRound`, `POST /sends/:id/retry`) moves `failed` back to `pending`, on purpose: its own
 * outcomes then move that entry forward again; so does the release of a delivery held by quiet hours
 * (`releaseDeferred`: `deferred` back to `pending`).
 */
export class DeliveriesRepository {
  // A first run's claims, before any provider call (deliveries/first-run-claims.ts).
  readonly claimDispatch: FirstRunClaims['claimDispatch'];
  readonly claimDeliveries: FirstRunClaims['claimDeliveries'];
  readonly claimedDeliveries: FirstRunClaims['claimedDeliveries'];
  // The outcomes dispatches write, forward only, and the entries they read (deliveries/ledger-outcomes.ts).
  readonly deliveryStates: LedgerOutcomes['deliveryStates'];
  readonly record: LedgerOutcomes['record'];
  // Each batch's final counts and first failures (deliveries/batch-counts.ts).
  readonly recordBatch: BatchCounts['recordBatch'];
  readonly keptTotals: BatchCounts['keptTotals'];
  // Retry rounds: failures claimed back to `pending` (deliveries/retry-rounds.ts).
  readonly claimFailedForRound: RetryRounds['claimFailedForRound'];
  readonly roundRecipients: RetryRounds['roundRecipients'];
  readonly retryableFailures: RetryRounds['retryableFailures'];
  // Quiet hours: `deferred` deliveries released or cancelled (deliveries/deferred-deliveries.ts).
  readonly releaseDeferred: DeferredDeliveries['releaseDeferred'];
  readonly cancelDeferred: DeferredDeliveries['cancelDeferred'];
  // A send's totals, failures and pages of entries (deliveries/ledger-reads.ts).
  readonly counts: LedgerReads['counts'];
  readonly failures: LedgerReads['failures'];
  readonly deliveries: LedgerReads['deliveries'];

  constructor(database: Database) {
    const firstRun = new FirstRunClaims(database);
    this.claimDispatch = firstRun.claimDispatch.bind(firstRun);
    this.claimDeliveries = firstRun.claimDeliveries.bind(firstRun);
    this.claimedDeliveries = firstRun.claimedDeliveries.bind(firstRun);
    const outcomes = new LedgerOutcomes(database);
    this.deliveryStates = outcomes.deliveryStates.bind(outcomes);
    this.record = outcomes.record.bind(outcomes);
    const batchCounts = new BatchCounts(database);
    this.recordBatch = batchCounts.recordBatch.bind(batchCounts);
    this.keptTotals = batchCounts.keptTotals.bind(batchCounts);
    const retryRounds = new RetryRounds(database);
    this.claimFailedForRound = retryRounds.claimFailedForRound.bind(retryRounds);
    this.roundRecipients = retryRounds.roundRecipients.bind(retryRounds);
    this.retryableFailures = retryRounds.retryableFailures.bind(retryRounds);
    const deferred = new DeferredDeliveries(database);
    this.releaseDeferred = deferred.releaseDeferred.bind(deferred);
    this.cancelDeferred = deferred.cancelDeferred.bind(deferred);
    const reads = new LedgerReads(database);
    this.counts = reads.counts.bind(reads);
    this.failures = reads.failures.bind(reads);
    this.deliveries = reads.deliveries.bind(reads);
  }
}
