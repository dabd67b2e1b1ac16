import { DispatchWindow, dispatchWindowSize } from '../../workflows/dispatch-window';

/** A dispatch the test ends by hand. */
function pendingDispatch(): { run: () => Promise<void>; end: () => void; started: () => boolean } {
  let end = () => {};
  let started = false;
  return {
    run: () => {
      started = true;
      return new Promise<void>((resolve) => {
        end = resolve;
      });
    },
    end: () => end(),
    started: () => started,
  };
}

/** Lets the microtasks that follow a dispatch's end run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** The dispatch window of a send (workflows/dispatch-window.ts): how many run at once, and when a page has ended. */
describe('the dispatch window of a send', () => {
  it('is a page and a half of batches unless configured, and at least one', () => {
    const fanOut = { pageSize: 1000, chunkSize: 100, perDeliveryLimit: 10, pagesPerRun: 5, heartbeatTimeoutMs: 1 };
    expect(dispatchWindowSize(fanOut, ['sms', 'email'])).toBe(30);
    expect(dispatchWindowSize({ ...fanOut, dispatchWindow: 4 }, ['sms'])).toBe(4);
    expect(dispatchWindowSize({ ...fanOut, dispatchWindow: 0 }, ['sms'])).toBe(1);
  });

  it('starts a dispatch only when fewer than its size are in flight, in the order given', async () => {
    const ended: string[] = [];
    const window = new DispatchWindow({ size: 2, onDispatchEnded: () => ended.push('one'), onPageEnded: () => {} });
    const [a, b, c] = [pendingDispatch(), pendingDispatch(), pendingDispatch()];
    await window.start(0, a.run);
    await window.start(0, b.run);
    let thirdStarted = false;
    const third = window.start(0, c.run).then(() => (thirdStarted = true));
    await settle();
    expect([c.started(), thirdStarted]).toEqual([false, false]);

    b.end();
    await third;
    expect(c.started()).toBe(true);
    expect(ended).toEqual(['one']);
    a.end();
    c.end();
    await window.drain();
    expect(ended).toHaveLength(3);
  });

  it('ends a page once, when all its dispatches have started and ended', async () => {
    const pagesEnded: number[] = [];
    const window = new DispatchWindow({
      size: 10,
      onDispatchEnded: () => {},
      onPageEnded: (page) => pagesEnded.push(page),
    });
    const [a, b, c] = [pendingDispatch(), pendingDispatch(), pendingDispatch()];
    window.beginPage(0);
    await window.start(0, a.run);
    a.end();
    await settle();
    // Its first dispatch ended, but the page is still being started.
    expect(pagesEnded).toEqual([]);
    await window.start(0, b.run);
    window.endPage(0, true);
    window.beginPage(1);
    await window.start(1, c.run);
    window.endPage(1, true);
    expect(pagesEnded).toEqual([]);

    b.end();
    await settle();
    expect(pagesEnded).toEqual([0]);
    c.end();
    await window.drain();
    expect(pagesEnded).toEqual([0, 1]);
  });

  it('ends a page whose dispatches all ended while it started at its end, and never one without users', async () => {
    const pagesEnded: number[] = [];
    const window = new DispatchWindow({
      size: 10,
      onDispatchEnded: () => {},
      onPageEnded: (page) => pagesEnded.push(page),
    });
    const a = pendingDispatch();
    window.beginPage(3);
    await window.start(3, a.run);
    a.end();
    await settle();
    window.endPage(3, true);
    expect(pagesEnded).toEqual([3]);

    window.beginPage(4);
    window.endPage(4, false);
    // A retry's pages have no number: nothing to drop.
    window.beginPage(undefined);
    window.endPage(undefined, true);
    expect(pagesEnded).toEqual([3]);
  });
});
