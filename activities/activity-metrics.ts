import { Counter, Histogram, Registry } from 'prom-client';
import type { Channel } from '../common/config/config';
import type { DeliveryOutcome } from '../common/store/deliveries-repository';

/** Why the rate limiter held a channel's calls (`messaging_rate_limit_waits_total`). */
export type RateLimitWaitReason = 'concurrency' | 'per_second' | 'retry_after';

/**
 * The worker's own metrics (docs/operations.md "Metrics"), on a registry of their own: the worker serves it on
 * `WORKER_METRICS_PORT`, and a test that builds activities without a server gets a fresh, unserved one. They are
 * passed to the activities in their deps (`ActivityDeps.metrics`), never held in a module.
 */
export class ActivityMetrics {
  private readonly deliveries: Counter<'channel' | 'provider' | 'status'>;
  private readonly providerErrors: Counter<'channel' | 'provider' | 'code'>;
  private readonly dispatchBatchSeconds: Histogram<'channel' | 'provider'>;
  private readonly ledgerFlushSeconds: Histogram;
  private readonly rateLimitWaits: Counter<'channel' | 'reason'>;
  private readonly rateLimitWaitSeconds: Counter<'channel' | 'reason'>;

  /** @param registry where the metrics are registered; default: a registry of their own. */
  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: 'messaging_deliveries_total',
      help: 'Delivery outcomes recorded in the ledger, by channel, provider and status (pending: retried later)',
      labelNames: ['channel', 'provider', 'status'],
      registers,
    });
    this.providerErrors = new Counter({
      name: 'messaging_provider_errors_total',
      help: "Provider calls that failed, by channel, provider and code (the provider's own code, else HTTP_<status>)",
      labelNames: ['channel', 'provider', 'code'],
      registers,
    });
    this.dispatchBatchSeconds = new Histogram({
      name: 'messaging_dispatch_batch_duration_seconds',
      help: 'Duration of one dispatch activity (a batch of deliveries on one channel), by channel and provider',
      labelNames: ['channel', 'provider'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.ledgerFlushSeconds = new Histogram({
      name: 'messaging_ledger_flush_duration_seconds',
      help: 'Duration of one ledger flush of a dispatch, store outages waited out included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.rateLimitWaits = new Counter({
      name: 'messaging_rate_limit_waits_total',
      help: "Times the rate limiter held a channel's provider calls, by channel and reason",
      labelNames: ['channel', 'reason'],
      registers,
    });
    this.rateLimitWaitSeconds = new Counter({
      name: 'messaging_rate_limit_wait_seconds_total',
      help: "Seconds the rate limiter held a channel's provider calls, by channel and reason",
      labelNames: ['channel', 'reason'],
      registers,
    });
  }

  /** Counts outcomes once the ledger has recorded them. */
  deliveriesRecorded(provider: string, outcomes: readonly DeliveryOutcome[]): void {
    for (const { channel, status } of outcomes) this.deliveries.inc({ channel, provider, status });
  }

  providerError(channel: Channel, provider: string, code: string): void {
    this.providerErrors.inc({ channel, provider, code });
  }

  /** Starts timing a dispatch batch; call the result when it ends, whichever way. */
  dispatchBatchTimer(channel: Channel, provider: string): () => void {
    const end = this.dispatchBatchSeconds.startTimer({ channel, provider });
    return () => void end();
  }

  /** Starts timing a ledger flush; call the result once it is written. */
  ledgerFlushTimer(): () => void {
    const end = this.ledgerFlushSeconds.startTimer();
    return () => void end();
  }

  rateLimitWait(channel: Channel, reason: RateLimitWaitReason, seconds: number): void {
    this.rateLimitWaits.inc({ channel, reason });
    this.rateLimitWaitSeconds.inc({ channel, reason }, seconds);
  }
}
