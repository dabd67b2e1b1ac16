import { conflict, notFound } from '../../common/domain/http-errors';
import type { DeliveriesRepository } from '../../common/store/deliveries-repository';
import type { SendsRepository } from '../../common/store/sends-repository';
import type { SendReconciler } from './send-reconciliation-service';
import type { SendStarter, StartedSend } from './send-starter';

export interface SendRetryDeps {
  sends: SendsRepository;
  ledger: DeliveriesRepository;
  reconciler: SendReconciler;
  starter: SendStarter;
}

/** `POST /sends/:sendId/retry` (docs/operating-sends.md "Retry failed deliveries"): re-dispatches a send's failed deliveries. */
export class SendRetry {
  constructor(private readonly deps: SendRetryDeps) {}

  /**
   * Starts the next retry round of the send, or of the send a retry id retries. 409 while it or its last round runs
   * (a send whose workflow is gone is closed first, so that it can be retried) or when no delivery failed.
   */
  async retry(sendId: string): Promise<StartedSend & { retryOf: string }> {
    const send = await this.deps.sends.get(sendId);
    if (!send) throw notFound(`sendId: send ${sendId} not found`);
    const originalId = send.retryOf ?? send._id;
    const stored = send.retryOf ? await this.deps.sends.get(originalId) : send;
    if (!stored) throw notFound(`sendId: send ${originalId} not found`);
    const original = await this.deps.reconciler.close(stored);
    if (original.status === 'running') throw conflict(`sendId: send ${originalId} is still running`);
    // One round at a time: a round claims failed deliveries as it goes, and a second one would race it for them.
    const latestId = original.retries?.at(-1);
    const latest = latestId ? await this.deps.sends.get(latestId) : null;
    if (latest && (await this.deps.reconciler.close(latest)).status === 'running') {
      throw conflict(`sendId: retry ${latest._id} of send ${originalId} is still running`);
    }
    if ((await this.deps.ledger.retryableFailures(originalId)) === 0) {
      throw conflict(`sendId: send ${originalId} has no failed deliveries to retry`);
    }
    const started = await this.deps.starter.startRetry(original, (original.retries?.length ?? 0) + 1);
    return { ...started, retryOf: originalId };
  }
}
