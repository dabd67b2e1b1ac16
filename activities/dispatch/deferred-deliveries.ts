import type { Channel } from '../../common/config/config';
import type { ActivityDeps } from '../activity-deps';
import { keepAlive } from '../keep-alive';

/** Input of `claimDeferredDeliveries`: one page of a send's deliveries held by quiet hours until `releaseAt`. */
export interface ClaimDeferredInput {
  sendId: string;
  /** The release minute (ISO 8601): deliveries whose quiet hours end by then are released. */
  releaseAt: string;
  /** The last ledger key of the previous page (null: the first). */
  after: string | null;
  limit: number;
}

export interface ClaimedDeferred {
  /** The released users per channel, `pending` again, to dispatch as any other (none once the send was cancelled). */
  byChannel: Partial<Record<Channel, string[]>>;
  /** Where the next page starts; null after the last. */
  next: string | null;
  /** Set once the send was cancelled: this page's deferred deliveries, of any minute, were recorded `cancelled`. */
  cancelled?: number;
}

/**
 * The releases of deliveries held by quiet hours (docs/preferences.md "Quiet hours"): when a release minute comes,
 * the send's workflow claims its due `deferred` deliveries back page by page and dispatches them through the ordinary
 * path. A cancelled send's (its record in `send_cancellations`) are recorded `cancelled` instead, whatever their minute.
 */
export function createDeferredDeliveryActivities(deps: Pick<ActivityDeps, 'ledger' | 'sendCancellations'>) {
  return {
    claimDeferredDeliveries: (input: ClaimDeferredInput): Promise<ClaimedDeferred> =>
      keepAlive(async () => {
        const { sendId, after, limit } = input;
        if (await deps.sendCancellations.isCancelled(sendId)) {
          const { cancelled, next } = await deps.ledger.cancelDeferred(sendId, after, limit);
          return { byChannel: {}, next, cancelled };
        }
        return deps.ledger.releaseDeferred(sendId, new Date(input.releaseAt), after, limit);
      }),
  };
}
