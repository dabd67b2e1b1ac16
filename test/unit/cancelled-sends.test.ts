import { CancelledSends } from '../../activities/dispatch/cancelled-sends';
import type { SendCancellationsRepository } from '../../common/store/send-cancellations-repository';

/** A store of cancels that counts its reads. */
function fakeStore(cancelled: Set<string>) {
  const store = {
    reads: 0,
    isCancelled: (sendId: string) => {
      store.reads++;
      return Promise.resolve(cancelled.has(sendId));
    },
  };
  return store;
}

describe('CancelledSends', () => {
  it('reads the store at most once per send within its max age, however many calls ask', async () => {
    const store = fakeStore(new Set());
    let now = 1000;
    const cancelledSends = new CancelledSends(store as unknown as SendCancellationsRepository, 200, () => now);
    const answers = await Promise.all(Array.from({ length: 50 }, () => cancelledSends.isCancelled('send-a')));
    expect(answers.every((answer) => answer === false)).toBe(true);
    expect(store.reads).toBe(1);
    now += 199;
    await cancelledSends.isCancelled('send-a');
    expect(store.reads).toBe(1);
    now += 1;
    await cancelledSends.isCancelled('send-a');
    expect(store.reads).toBe(2);
    await cancelledSends.isCancelled('send-b');
    expect(store.reads).toBe(3);
  });

  it('sees a cancel within its max age, and never reads a cancelled send again', async () => {
    const cancelled = new Set<string>();
    const store = fakeStore(cancelled);
    let now = 0;
    const cancelledSends = new CancelledSends(store as unknown as SendCancellationsRepository, 200, () => now);
    expect(await cancelledSends.isCancelled('send-a')).toBe(false);
    cancelled.add('send-a');
    now += 200;
    expect(await cancelledSends.isCancelled('send-a')).toBe(true);
    const reads = store.reads;
    now += 10_000;
    expect(await cancelledSends.isCancelled('send-a')).toBe(true);
    expect(store.reads).toBe(reads);
  });
});
