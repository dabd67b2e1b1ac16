import type { Channel, ServiceConfig } from '../common/config/config';
import type { RateTokensRepository } from '../common/store/rate-tokens-repository';
import { ActivityMetrics, type RateLimitWaitReason } from './activity-metrics';

export type ChannelLimits = ServiceConfig['rateLimits'];

/** How much of a second's budget one worker reserves at a time: small enough to share, large enough to be cheap. */
const RESERVATIONS_PER_SECOND = 10;
/** Tokens older than this are deleted (by whichever worker notices first). */
const KEEP_WINDOWS_MS = 60_000;

interface ChannelState {
  window: number;
  granted: number;
  used: number;
  pausedUntil: number;
  /** The first token of `window` this worker has not tried yet. */
  nextToken: number;
  /** Callers wait their turn here, so one process reserves for one caller at a time. */
  queue: Promise<unknown>;
  inFlight: number;
  waitingForSlot: (() => void)[];
}

/** Options of a `ChannelRateLimiter`. */
export interface RateLimiterOptions {
  /**
   * The longest a call waits for a channel paused by a provider's `Retry-After` (`retryAfter.capMs`): a longer pause
   * is not slept through in the activity but thrown as a `CallNotStarted` (`throttled`), which hands the batch back
   * to the workflow's durable timer. Default 30 s.
   */
  maxPauseWaitMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * A provider call that never started: its activity was cancelled while it waited (`cancelled`), or its channel is
 * paused for longer than the limiter may wait (`throttled`, with the time left in `retryAfterMs`).
 */
export class CallNotStarted extends Error {
  constructor(
    readonly reason: 'cancelled' | 'throttled',
    readonly retryAfterMs = 0,
  ) {
    super(reason === 'cancelled' ? 'cancelled before the provider call' : `channel paused for ${retryAfterMs} ms`);
    this.name = 'CallNotStarted';
  }
}

const DEFAULT_MAX_PAUSE_WAIT_MS = 30_000;

/** Waits `ms`, or rejects with `CallNotStarted('cancelled')` as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CallNotStarted('cancelled'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CallNotStarted('cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `promise`, or a `CallNotStarted('cancelled')` rejection as soon as `signal` aborts. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new CallNotStarted('cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CallNotStarted('cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Per-channel provider limits (`rateLimits` in the service configuration):
 * - `perSecond` holds across every worker: each second of each channel has `perSecond` tokens in MongoDB
 *   (`rate_tokens`), and a worker takes a few at a time (one `insertMany`) before it calls the provider.
 *   Tokens taken but unused are lost, never exceeded: the limit is an upper bound.
 * - `concurrency` caps the calls in flight per worker process.
 * - `pause` stops a channel in this process for a provider's `Retry-After` after a 429 (with or without limits); a
 *   pause longer than `maxPauseWaitMs` is not waited out here (`CallNotStarted`).
 * Every wait ends at once when the caller's `AbortSignal` aborts (the activity was cancelled): a cancelled attempt
 * starts no call, however long it has queued. Each time it holds calls it counts the wait and its seconds by reason
 * (`messaging_rate_limit_waits_total`).
 */
export class ChannelRateLimiter {
  private readonly states = new Map<Channel, ChannelState>();
  private lastCleanup = 0;
  private readonly maxPauseWaitMs: number;
  private readonly now: () => number;

  constructor(
    private readonly tokens: RateTokensRepository,
    private readonly limits: ChannelLimits,
    private readonly metrics: ActivityMetrics = new ActivityMetrics(),
    options: RateLimiterOptions = {},
  ) {
    this.maxPauseWaitMs = options.maxPauseWaitMs ?? DEFAULT_MAX_PAUSE_WAIT_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Runs one provider call within the channel's limits. Throws `CallNotStarted` without calling when `signal` aborts
   * while the call waits its turn, or when the channel is paused for longer than `maxPauseWaitMs`.
   */
  async run<T>(channel: Channel, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const limit = this.limits[channel];
    const state = this.state(channel);
    if (!limit) {
      await this.waitOutPause(channel, state, signal);
      return call();
    }
    if (limit.concurrency !== undefined && state.inFlight >= limit.concurrency) {
      const since = this.now();
      while (state.inFlight >= limit.concurrency) {
        let wake: () => void = () => undefined;
        const slot = new Promise<void>((resolve) => (wake = resolve));
        state.waitingForSlot.push(wake);
        try {
          await unlessAborted(slot, signal);
        } catch (error) {
          // Gone from the queue: a slot freed later goes to the next caller, not to this one.
          state.waitingForSlot.splice(state.waitingForSlot.indexOf(wake), 1);
          throw error;
        }
      }
      this.waited(channel, 'concurrency', since);
    }
    state.inFlight++;
    try {
      const turn = state.queue.then(() => this.acquire(channel, state, limit.perSecond, signal));
      state.queue = turn.catch(() => undefined);
      await unlessAborted(turn, signal);
      return await call();
    } finally {
      state.inFlight--;
      state.waitingForSlot.shift()?.();
    }
  }

  /** Holds every call of `channel` in this process for `ms` (a provider's `Retry-After`). */
  pause(channel: Channel, ms: number): void {
    const state = this.state(channel);
    state.pausedUntil = Math.max(state.pausedUntil, this.now() + ms);
  }

  private state(channel: Channel): ChannelState {
    let state = this.states.get(channel);
    if (!state) {
      state = {
        window: 0,
        granted: 0,
        used: 0,
        pausedUntil: 0,
        nextToken: 0,
        queue: Promise.resolve(),
        inFlight: 0,
        waitingForSlot: [],
      };
      this.states.set(channel, state);
    }
    return state;
  }

  /** Waits while the channel is paused, up to `maxPauseWaitMs`; a longer pause is thrown to the caller. */
  private async waitOutPause(channel: Channel, state: ChannelState, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new CallNotStarted('cancelled');
      const now = this.now();
      if (state.pausedUntil <= now) return;
      const left = state.pausedUntil - now;
      if (left > this.maxPauseWaitMs) throw new CallNotStarted('throttled', left);
      await sleep(left, signal);
      this.waited(channel, 'retry_after', now);
    }
  }

  private async acquire(
    channel: Channel,
    state: ChannelState,
    perSecond: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (;;) {
      // A cancelled caller that reaches its turn takes no token.
      await this.waitOutPause(channel, state, signal);
      const now = this.now();
      if (perSecond === undefined) return;
      const window = Math.floor(now / 1000);
      if (state.window === window && state.used < state.granted) {
        state.used++;
        return;
      }
      const wanted = Math.max(1, Math.ceil(perSecond / RESERVATIONS_PER_SECOND));
      const granted = await this.reserve(channel, state, window, wanted, perSecond);
      state.window = window;
      state.granted = granted;
      state.used = granted > 0 ? 1 : 0;
      // Tokens of a second that ended while they were being taken are dropped: spending them now would add
      // to the next second's calls.
      if (granted > 0 && Math.floor(this.now() / 1000) === window) return;
      if (granted > 0) continue;
      // This second is spent across the workers: wait for the next one.
      const since = this.now();
      await sleep((window + 1) * 1000 - since, signal);
      this.waited(channel, 'per_second', since);
    }
  }

  /** Counts a wait that began at `since`; the calls queued behind it on the channel waited with it. */
  private waited(channel: Channel, reason: RateLimitWaitReason, since: number): void {
    this.metrics.rateLimitWait(channel, reason, (this.now() - since) / 1000);
  }

  /**
   * Reserves up to `wanted` calls of the second `window`; returns how many it got (0: the second is spent).
   * Each call of a second is a token document `<channel>|<second>|<n>`, n < perSecond, and a worker takes
   * tokens by inserting them: the unique `_id` makes a token go to exactly one worker. (An `$inc` counter
   * would be simpler, but FerretDB applies `$inc` as read-modify-write, and concurrent workers lose counts.)
   */
  private async reserve(channel: Channel, state: ChannelState, window: number, wanted: number, perSecond: number) {
    const limit = Math.floor(perSecond);
    let next = state.window === window ? state.nextToken : 0;
    while (next < limit) {
      const end = Math.min(next + wanted, limit);
      const tokenIds = Array.from({ length: end - next }, (_, index) => `${channel}|${window}|${next + index}`);
      next = end;
      const taken = await this.tokens.take(tokenIds);
      state.nextToken = end;
      if (taken > 0) {
        this.cleanUp(channel);
        return taken;
      }
    }
    state.nextToken = limit;
    return 0;
  }

  private cleanUp(channel: Channel): void {
    if (this.now() - this.lastCleanup < KEEP_WINDOWS_MS / 2) return;
    this.lastCleanup = this.now();
    const oldest = Math.floor((this.now() - KEEP_WINDOWS_MS) / 1000);
    void this.tokens.dropBefore(channel, oldest).catch(() => undefined);
  }
}
