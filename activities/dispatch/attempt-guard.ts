import { Context } from '@temporalio/activity';
import { setMaxListeners } from 'node:events';
import type { Attempt } from './deliver';

/** Each heartbeat crosses into the SDK's native core (which throttles what it sends): one a second is plenty. */
const HEARTBEAT_EVERY_MS = 1000;

/**
 * Time kept before the attempt's start-to-close timeout: no provider call starts in it, so that the calls in flight
 * (a provider's answer takes at most the HTTP client's 15 s headers and 15 s body timeouts) and the last ledger
 * flush end before Temporal times the attempt out and starts the next one.
 */
const DEADLINE_MARGIN_MS = 60_000;

/**
 * What keeps one attempt of a dispatch activity from overlapping the next (docs/internals.md): the attempt heartbeats
 * on a timer for as long as it runs (provider calls, rate-limit waits and ledger writes included), so Temporal
 * starts no other attempt while it lives; and once it must stop (cancelled: its heartbeat timed out, the worker
 * shuts down, the workflow was cancelled; near its start-to-close timeout; its channel throttled beyond
 * `retryAfter.capMs`) it starts no provider call, while the calls in flight finish and are recorded.
 */
export class AttemptGuard {
  private readonly context = Context.current();
  private readonly deadline: number;
  private handBackMs = 0;

  /** @param capMs `retryAfter.capMs`: the longest `Retry-After` this attempt waits out itself */
  constructor(private readonly capMs: number) {
    // Each call waiting in the rate limiter listens on the signal until its wait ends (16 lanes, more than the
    // default warning threshold of 10); the listeners are removed as the waits end.
    setMaxListeners(0, this.context.cancellationSignal);
    // A start-to-close timeout too short to keep the margin in (none of the dispatches') sets no deadline.
    const { startToCloseTimeoutMs } = this.context.info;
    this.deadline =
      startToCloseTimeoutMs >= 2 * DEADLINE_MARGIN_MS
        ? Date.now() + startToCloseTimeoutMs - DEADLINE_MARGIN_MS
        : Infinity;
  }

  /** Aborts once the attempt is cancelled: rate-limit waits end at once, and no provider call starts. */
  get signal(): AbortSignal {
    return this.context.cancellationSignal;
  }

  /** True once no provider call may start. */
  readonly shouldStop = (): boolean => this.signal.aborted || this.handBackMs > 0 || Date.now() >= this.deadline;

  /**
   * Takes note of an attempt: a provider asking for a wait beyond the cap (a 429's or a 5xx's `Retry-After`), or a
   * call the limiter did not start because its channel is paused that long, ends the batch's provider calls here and
   * hands the batch back.
   */
  note(attempt: Attempt): void {
    const waitMs = attempt.retryAfterMs ?? 0;
    if (attempt.outcome.status === 'pending' && waitMs > this.capMs)
      this.handBackMs = Math.max(this.handBackMs, waitMs);
  }

  /**
   * Whether an attempt's outcome is recorded: not when the provider was not called; not a transient one once this
   * attempt is cancelled, since the next attempt (which may already run) owns the delivery now, and a `pending` written
   * at the moment it records `sent` could overwrite it on FerretDB, whose updates are read-modify-write.
   */
  keeps(attempt: Attempt): boolean {
    if (attempt.notStarted) return false;
    return !(this.signal.aborted && attempt.outcome.status === 'pending');
  }

  /**
   * How long the workflow waits (a durable timer) before dispatching the rest of the batch again, when the batch is
   * handed back; undefined when it is not.
   */
  handBack(): number | undefined {
    return this.handBackMs > 0 ? this.handBackMs : undefined;
  }

  /** Runs `work` with a heartbeat every second until it settles. */
  async heartbeatWhile<T>(work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => this.context.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }
}
