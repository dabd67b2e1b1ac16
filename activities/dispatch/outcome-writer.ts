import { Context } from '@temporalio/activity';
import { isStoreUnreachable } from '../../common/store/db';
import type { DeliveryOutcome, DeliveriesRepository } from '../../common/store/deliveries-repository';
import type { ActivityMetrics } from '../activity-metrics';

/** Ledger writes are batched, but small batches keep the "sent but not yet recorded" window narrow. */
const LEDGER_FLUSH_SIZE = 25;

/** How long a flush waits for an unreachable store (a MongoDB restart, a failover) before the activity fails. */
const LEDGER_PATIENCE_MS = 60_000;

/**
 * Records outcomes of messages the providers already accepted, waiting out a store outage (with heartbeats,
 * so Temporal still sees a live worker): failing here would make the activity's retry send them again.
 * Safe to repeat: `DeliveriesRepository.record` is idempotent and moves statuses forward only.
 */
async function recordPatiently(
  ledger: DeliveriesRepository,
  sendId: string,
  outcomes: DeliveryOutcome[],
): Promise<void> {
  const deadline = Date.now() + LEDGER_PATIENCE_MS;
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 2000)) {
    try {
      await ledger.record(sendId, outcomes);
      return;
    } catch (error) {
      if (!isStoreUnreachable(error) || Date.now() > deadline) throw error;
      Context.current().heartbeat();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Buffers a dispatch's outcomes and writes them to the ledger every `LEDGER_FLUSH_SIZE`. While a flush waits for
 * the store, no new provider call may start (`beforeProviderCall` waits): a message sent then could not be
 * recorded, and the activity's retry would send it again. A flush that failed for good fails every later call.
 */
export class OutcomeWriter {
  private readonly buffer: DeliveryOutcome[] = [];
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;

  /** @param provider the channel's provider, the `provider` label of the deliveries counted once recorded */
  constructor(
    private readonly ledger: DeliveriesRepository,
    private readonly sendId: string,
    private readonly metrics: ActivityMetrics,
    private readonly provider: string,
  ) {}

  /** Resolves when a provider call may start; throws the ledger's failure once a flush has failed. */
  async beforeProviderCall(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
  }

  async add(outcome: DeliveryOutcome): Promise<void> {
    this.buffer.push(outcome);
    if (this.buffer.length >= LEDGER_FLUSH_SIZE) await this.flush();
  }

  /**
   * Runs a batch's provider calls (`calls` settles once none is in flight) and writes what is buffered. When they
   * fail (a flush that failed for good, an unexpected error), what the last calls sent is still written, best effort,
   * before the failure goes on: the next attempt must find it rather than send it again.
   */
  async recordAll<T>(calls: () => Promise<T>): Promise<T> {
    let results: T;
    try {
      results = await calls();
    } catch (error) {
      // The calls' own failure is the one to report; a second failure of the store adds nothing to it.
      await this.flush().catch(() => undefined);
      throw error;
    }
    await this.flush();
    return results;
  }

  /** Writes everything buffered; the activity calls it once more before it returns. */
  flush(): Promise<void> {
    // Nothing to write: an empty run would end (and reset `flushing`) before `??=` stores it, leaving it set for good.
    if (!this.flushing && this.buffer.length === 0) return Promise.resolve();
    this.flushing ??= (async () => {
      try {
        while (this.buffer.length > 0) {
          const outcomes = this.buffer.splice(0, this.buffer.length);
          const flushed = this.metrics.ledgerFlushTimer();
          await recordPatiently(this.ledger, this.sendId, outcomes);
          flushed();
          this.metrics.deliveriesRecorded(this.provider, outcomes);
        }
      } catch (error) {
        this.failure ??= error;
        throw error;
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }
}
