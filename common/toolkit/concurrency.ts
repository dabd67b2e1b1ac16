/**
 * Runs `worker` over `items` with at most `limit` in flight; results keep the input order. Once a call fails no lane
 * starts another item, and the returned promise rejects with that first failure once the calls in flight have
 * finished. (Without the first, a dispatch whose ledger write failed kept calling the provider for the rest of its
 * batch after the activity had already failed; without the second, the activity ended while other lanes still
 * called providers, and its retry sent those again alongside.)
 */
export async function mapWithConcurrency<T, R>(
  items: T[],
  limit: number,
  worker: (item: T) => Promise<R>,
  /** Checked before each item: once true, no lane starts another item and the result has holes. */
  shouldStop: () => boolean = () => false,
): Promise<(R | undefined)[]> {
  const results = new Array<R | undefined>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failure && next < items.length && !shouldStop()) {
      const index = next++;
      try {
        results[index] = await worker(items[index]);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw failure.error;
  return results;
}

/**
 * Loads each key once and shares the promise with every caller, keeping at most `capacity` keys (the oldest
 * go first). A failed load is forgotten, so that the next caller (an activity's retry) loads again.
 */
export class SharedLoads<V> {
  private readonly loads = new Map<string, Promise<V>>();

  constructor(private readonly capacity: number) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    let loading = this.loads.get(key);
    if (!loading) {
      loading = load();
      loading.catch(() => this.loads.delete(key));
      this.loads.set(key, loading);
      if (this.loads.size > this.capacity) this.loads.delete(this.loads.keys().next().value!);
    }
    return loading;
  }
}
