import { patched, sleep } from '@temporalio/workflow';

/**
 * Patch (docs/operations.md "Changing a workflow safely"): a dispatch may hand its batch back, asking for a wait longer
 * than a dispatch activity waits itself (a provider's `Retry-After` beyond `retryAfter.capMs`); the workflow then waits
 * on a durable timer and dispatches the same batch again. Histories recorded before it hold no such result.
 */
export const HAND_BACK_THROTTLED_BATCHES = 'hand-back-throttled-batches';

/**
 * Runs one dispatch (`dispatchOnce`, the same input each time) until it ends without handing its batch back. Each
 * run after the first finds what the previous ones did in the ledger and sends only what is still pending.
 */
export async function dispatchUntilNotHandedBack<R extends { retryAfterMs?: number }>(
  dispatchOnce: () => Promise<R>,
): Promise<R> {
  for (;;) {
    const result = await dispatchOnce();
    if (result.retryAfterMs === undefined || !patched(HAND_BACK_THROTTLED_BATCHES)) return result;
    await sleep(result.retryAfterMs);
  }
}
