import {
  addReleaseMinutes,
  countDeferred,
  releaseMinuteOf,
  totalDeferred,
  type DeferredByMinute,
} from '../../common/domain/quiet-hours-release';
import { countDispatch, countReleased, initialProgress, type SendProgress } from '../../workflows/send-progress';

/** Deliveries held by quiet hours, grouped by the minute they are released (docs/preferences.md "Quiet hours"). */
describe('release minutes of deferred deliveries', () => {
  it('rounds a release up to its whole minute; one on the minute stays', () => {
    expect(releaseMinuteOf(new Date('2026-03-01T07:00:00.000Z')).toISOString()).toBe('2026-03-01T07:00:00.000Z');
    expect(releaseMinuteOf(new Date('2026-03-01T07:00:00.001Z')).toISOString()).toBe('2026-03-01T07:01:00.000Z');
    expect(releaseMinuteOf(new Date('2026-03-01T06:59:59.999Z')).toISOString()).toBe('2026-03-01T07:00:00.000Z');
  });

  it('counts deliveries released within the same minute under one minute', () => {
    const deferred: DeferredByMinute = {};
    countDeferred(deferred, new Date('2026-03-01T07:00:00.000Z'));
    countDeferred(deferred, new Date('2026-03-01T06:59:30.000Z'));
    countDeferred(deferred, new Date('2026-03-01T08:00:00.000Z'));
    expect(deferred).toEqual({ '2026-03-01T07:00:00.000Z': 2, '2026-03-01T08:00:00.000Z': 1 });
    expect(totalDeferred(deferred)).toBe(3);
    expect(totalDeferred(undefined)).toBe(0);
  });

  it('keeps the distinct minutes in order, each once, however the batches report them', () => {
    const minutes: number[] = [];
    addReleaseMinutes(minutes, { '2026-03-01T08:00:00.000Z': 4, '2026-03-01T07:00:00.000Z': 1 });
    addReleaseMinutes(minutes, { '2026-03-01T07:30:00.000Z': 2, '2026-03-01T08:00:00.000Z': 9 });
    addReleaseMinutes(minutes, undefined);
    expect(minutes.map((minute) => new Date(minute).toISOString())).toEqual([
      '2026-03-01T07:00:00.000Z',
      '2026-03-01T07:30:00.000Z',
      '2026-03-01T08:00:00.000Z',
    ]);
  });

  it('bounds the timers of a send over 24 time zones by their windows, not by its users', () => {
    const minutes: number[] = [];
    // 100k users, each in one of 24 zones whose 07:00 falls on a whole hour in UTC, sent over two minutes.
    for (let user = 0; user < 100_000; user++) {
      const deferred: DeferredByMinute = {};
      const end = Date.UTC(2026, 2, 1, user % 24, 0, 0) + (user % 2) * 45_000;
      countDeferred(deferred, new Date(end));
      addReleaseMinutes(minutes, deferred);
    }
    expect(minutes.length).toBeLessThanOrEqual(48);
  });
});

describe('the counts of a send that defers', () => {
  const batch = { sendId: 'send-1', userIds: ['u1', 'u2', 'u3'], page: 0 };
  const deferring = (): SendProgress => ({
    ...initialProgress(undefined),
    deferred: { minutes: [], after: null, pagesEnded: false },
  });

  it('counts deferred deliveries and their minutes; released ones move from deferred to what they became', () => {
    const progress = deferring();
    countDispatch(progress, 'sms', batch, {
      sent: 1,
      failed: 0,
      skipped: 0,
      alreadyDone: 0,
      deferred: { '2026-03-01T07:00:00.000Z': 2 },
    });
    expect(progress.counts).toEqual({ sms: { sent: 1, deferred: 2 } });
    expect(progress.deferred?.minutes).toEqual([Date.parse('2026-03-01T07:00:00.000Z')]);
    countReleased(progress, 'sms', { sent: 1, failed: 0, skipped: 1, alreadyDone: 0 });
    expect(progress.counts).toEqual({ sms: { sent: 2, skipped: 1 } });
  });

  it('keeps the minutes of a batch whose deliveries an earlier attempt deferred, read from its stored counts', () => {
    const progress = deferring();
    countDispatch(progress, 'sms', batch, {
      sent: 0,
      failed: 0,
      skipped: 0,
      alreadyDone: 3,
      deferred: { '2026-03-01T07:00:00.000Z': 3 },
    });
    expect(progress.deferred?.minutes).toHaveLength(1);
    expect(progress.batchesToRead).toEqual(['send-1|sms|0|u1']);
  });

  it('gives the counts up for a released batch that failed or was cancelled: the ledger is totalled', () => {
    const progress = deferring();
    countReleased(progress, 'sms', { sent: 0, failed: 0, skipped: 0, alreadyDone: 0, cancelled: 2 });
    expect(progress.counts).toBeNull();
  });
});
