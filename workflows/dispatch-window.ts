import type { Channel } from '../common/config/config';
import type { FanOutOptions } from './send-message';

/**
 * Dispatch activities in flight at once (`fanOut.dispatchWindow`); absent, a page and a half's worth, so the next page
 * starts while the last batches of the previous one finish.
 */
export function dispatchWindowSize(fanOut: FanOutOptions, channels: Channel[]): number {
  const batchesPerPage = channels.length * Math.ceil(fanOut.pageSize / fanOut.chunkSize);
  return Math.max(1, fanOut.dispatchWindow ?? Math.ceil(1.5 * batchesPerPage));
}

export interface DispatchWindowOptions {
  /** Dispatches in flight at most: `dispatchWindowSize`. */
  size: number;
  /** Called as each dispatch ends, however it ends. */
  onDispatchEnded: () => void;
  /** Called once per page whose dispatches have all ended (its users' copies can go). */
  onPageEnded: (page: number) => void;
}

/**
 * The dispatch window of a send: starts each dispatch as soon as fewer than `size` are in flight, and keeps count of
 * the dispatches in flight per page, to say when a page has ended. A page is started between `beginPage` and
 * `endPage`; it cannot end before all its dispatches have started.
 *
 * Workflow code: the order in which dispatches start and end is the order of the commands in the history, so the
 * window starts them in the order they are given and awaits exactly as the send did when it was written inline.
 */
export class DispatchWindow {
  private readonly inFlight = new Set<Promise<void>>();
  /** Dispatches in flight per page. */
  private readonly pageDispatches = new Map<number, number>();
  /** The page whose dispatches are being started. */
  private pageStarting: number | undefined;

  constructor(private readonly options: DispatchWindowOptions) {}

  beginPage(page: number | undefined): void {
    this.pageStarting = page;
  }

  /** Waits for room in the window, then starts `dispatch` (which must not reject but for a bug) for `page`. */
  async start(page: number | undefined, dispatch: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= this.options.size) await Promise.race(this.inFlight);
    if (page !== undefined) this.pageDispatches.set(page, (this.pageDispatches.get(page) ?? 0) + 1);
    const running: Promise<void> = dispatch().finally(() => {
      this.options.onDispatchEnded();
      this.inFlight.delete(running);
      if (page !== undefined) {
        this.pageDispatches.set(page, (this.pageDispatches.get(page) ?? 1) - 1);
        this.pageEnded(page);
      }
    });
    this.inFlight.add(running);
  }

  /** All of `page`'s dispatches have started; it ends now if they have all ended too and it held users. */
  endPage(page: number | undefined, heldUsers: boolean): void {
    this.pageStarting = undefined;
    if (page !== undefined && heldUsers) this.pageEnded(page);
  }

  /** Settles once every dispatch started so far has ended (rejects if one failed for a bug). */
  drain(): Promise<void[]> {
    return Promise.all(this.inFlight);
  }

  private pageEnded(page: number): void {
    if ((this.pageDispatches.get(page) ?? 0) > 0 || page === this.pageStarting) return;
    this.pageDispatches.delete(page);
    this.options.onPageEnded(page);
  }
}
