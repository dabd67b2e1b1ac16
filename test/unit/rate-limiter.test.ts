import { CallNotStarted, ChannelRateLimiter } from '../../activities/rate-limiter';
import type { RateTokensRepository } from '../../common/store/rate-tokens-repository';

/**
 * The limiter's waits (docs/configuration.md, `rateLimits`): a provider's pause is waited out only up to
 * `maxPauseWaitMs`, and every wait ends at once when the caller's signal aborts (a cancelled dispatch attempt starts no
 * call). The per-second tokens live in MongoDB; a stand-in repository that grants every token is enough to reach the
 * per-second wait.
 */
function fakeTokens(): RateTokensRepository {
  return { take: async (tokenIds: string[]) => tokenIds.length, dropBefore: async () => undefined } as never;
}

const notStarted = (error: unknown) => error as CallNotStarted;

describe('ChannelRateLimiter waits', () => {
  it('waits out a pause up to maxPauseWaitMs, even on a channel without limits', async () => {
    const limiter = new ChannelRateLimiter(fakeTokens(), {}, undefined, { maxPauseWaitMs: 1000 });
    limiter.pause('sms', 200);
    const started = Date.now();
    await expect(limiter.run('sms', async () => 'called')).resolves.toBe('called');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('refuses to wait out a longer pause: the call does not start and says how long is left', async () => {
    const limiter = new ChannelRateLimiter(fakeTokens(), { sms: { concurrency: 2 } }, undefined, {
      maxPauseWaitMs: 1000,
    });
    limiter.pause('sms', 90_000);
    const call = jest.fn(async () => 'called');
    const error = notStarted(await limiter.run('sms', call).catch((e: unknown) => e));
    expect(error).toBeInstanceOf(CallNotStarted);
    expect(error.reason).toBe('throttled');
    expect(error.retryAfterMs).toBeGreaterThan(89_000);
    expect(call).not.toHaveBeenCalled();
    // Other channels are not paused.
    await expect(limiter.run('email', async () => 'called')).resolves.toBe('called');
  });

  it('ends a pause wait at once when the signal aborts, without calling', async () => {
    const limiter = new ChannelRateLimiter(fakeTokens(), {}, undefined, { maxPauseWaitMs: 30_000 });
    limiter.pause('sms', 20_000);
    const controller = new AbortController();
    const call = jest.fn(async () => 'called');
    const running = limiter.run('sms', call, controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = notStarted(await running);
    expect(error.reason).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(call).not.toHaveBeenCalled();
  });

  it('ends a per-second wait at once when the signal aborts', async () => {
    const limiter = new ChannelRateLimiter(fakeTokens(), { sms: { perSecond: 1 } });
    await limiter.run('sms', async () => undefined);
    // This second's one token is spent: the next call waits for the next second, unless cancelled.
    const controller = new AbortController();
    controller.abort();
    const call = jest.fn(async () => 'called');
    const error = notStarted(await limiter.run('sms', call, controller.signal).catch((e: unknown) => e));
    expect(error.reason).toBe('cancelled');
    expect(call).not.toHaveBeenCalled();
  });

  it('ends a wait for a concurrency slot when the signal aborts, and the slot goes to the next caller', async () => {
    const limiter = new ChannelRateLimiter(fakeTokens(), { sms: { concurrency: 1 } });
    let release: () => void = () => undefined;
    let firstStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    const first = limiter.run('sms', () => {
      firstStarted();
      return new Promise<void>((resolve) => (release = resolve));
    });
    await started;
    const controller = new AbortController();
    const cancelledCall = jest.fn(async () => 'cancelled call');
    const cancelled = limiter.run('sms', cancelledCall, controller.signal).catch((e: unknown) => e);
    const third = limiter.run('sms', async () => 'third');
    controller.abort();
    expect(notStarted(await cancelled).reason).toBe('cancelled');
    release();
    await first;
    await expect(third).resolves.toBe('third');
    expect(cancelledCall).not.toHaveBeenCalled();
  });
});
