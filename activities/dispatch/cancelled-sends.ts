import {
  CANCEL_READ_MAX_AGE_MS,
  type SendCancellationsRepository,
} from '../../common/store/send-cancellations-repository';
import type { DeliveryOutcome } from '../../common/store/deliveries-repository';
import type { Channel } from '../../common/config/config';

/** Beyond this many sends remembered, those not read for a minute are forgotten. */
const REMEMBERED_SENDS = 1000;

interface Seen {
  cancelled: boolean;
  readAt: number;
  reading?: Promise<boolean>;
}

/**
 * Whether a send was cancelled (its record in `send_cancellations`), read by the dispatches before each provider call:
 * at most one read per send every `CANCEL_READ_MAX_AGE_MS` in a worker, however many calls ask, so a 100k send costs
 * a handful of point lookups a second. A cancel is final: once seen, it is never read again.
 */
export class CancelledSends {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly cancellations: SendCancellationsRepository,
    private readonly maxAgeMs = CANCEL_READ_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async isCancelled(sendId: string): Promise<boolean> {
    const known = this.seen.get(sendId);
    if (known?.cancelled) return true;
    if (known?.reading) return known.reading;
    if (known && this.now() - known.readAt < this.maxAgeMs) return false;
    this.forgetOld();
    const entry: Seen = known ?? { cancelled: false, readAt: 0 };
    entry.reading = this.cancellations.isCancelled(sendId).then(
      (cancelled) => {
        entry.cancelled = cancelled;
        entry.readAt = this.now();
        entry.reading = undefined;
        return cancelled;
      },
      (error: unknown) => {
        entry.reading = undefined;
        throw error;
      },
    );
    this.seen.set(sendId, entry);
    return entry.reading;
  }

  private forgetOld(): void {
    if (this.seen.size < REMEMBERED_SENDS) return;
    const before = this.now() - 60_000;
    for (const [sendId, entry] of this.seen) if (!entry.reading && entry.readAt < before) this.seen.delete(sendId);
  }
}

/** The ledger outcome of a delivery its cancelled send never handed to a provider. */
export const cancelledOutcome = (userId: string, channel: Channel): DeliveryOutcome => ({
  userId,
  channel,
  status: 'cancelled',
  code: 'CANCELLED',
  error: 'the send was cancelled before this delivery was handed to its provider',
  attempted: false,
});
