import { mapWithConcurrency } from '../../common/toolkit/concurrency';

describe('mapWithConcurrency', () => {
  it('keeps the input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('starts nothing new once a call has failed; calls in flight finish', async () => {
    const started: number[] = [];
    const items = Array.from({ length: 20 }, (_, index) => index);
    const run = mapWithConcurrency(items, 4, async (n) => {
      started.push(n);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (n === 0) throw new Error('store down');
      return n;
    });
    await expect(run).rejects.toThrow('store down');
    await new Promise((resolve) => setTimeout(resolve, 30));
    // 0-3 start together; 0 fails first while the others are in flight, so no lane takes another item.
    expect(started.sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
  });

  it('rejects only once the calls in flight have finished, with the first failure', async () => {
    const finished: number[] = [];
    const run = mapWithConcurrency([0, 1, 2], 3, async (n) => {
      await new Promise((resolve) => setTimeout(resolve, n === 0 ? 1 : 50));
      if (n === 0) throw new Error('store down');
      finished.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('store down');
    // A dispatch that fails has no provider call left running when its activity ends.
    expect(finished.sort()).toEqual([1, 2]);
  });
});
