import type { DigestSettings } from '../../common/temporal/digest-definitions';
import {
  addDigestEvent,
  digestSnapshot,
  isDigestDue,
  newDigestState,
  reconsiderOpenBatch,
  removeDigestEvent,
  takeDigestFlush,
} from '../../workflows/digest-batch';

const event = (eventId: string, settings: DigestSettings, receivedAt = 0) => ({ eventId, receivedAt, settings });
const fixed: DigestSettings = { windowMs: 1000, maxEvents: 100 };

describe('a digest batch', () => {
  it('flushes a fixed window at its first event plus the window, whatever comes after', () => {
    const state = newDigestState();
    addDigestEvent(state, event('a', fixed), 10_000);
    addDigestEvent(state, event('b', fixed), 10_900);
    expect(state.flushAt).toBe(11_000);
    expect(isDigestDue(state, 10_999)).toBe(false);
    expect(isDigestDue(state, 11_000)).toBe(true);
    expect(takeDigestFlush(state, 11_000)).toEqual({
      events: [
        { eventId: 'a', receivedAt: 0 },
        { eventId: 'b', receivedAt: 0 },
      ],
      flushNumber: 1,
    });
    expect(digestSnapshot('d', state)).toEqual({
      digestId: 'd',
      pendingEventIds: [],
      flushAt: null,
      flushCount: 1,
      lastFlushAt: 11_000,
    });
  });

  it('moves a sliding window with each event, never past maxWindow', () => {
    const sliding: DigestSettings = { windowMs: 1000, sliding: true, maxWindowMs: 2500, maxEvents: 100 };
    const state = newDigestState();
    addDigestEvent(state, event('a', sliding), 0);
    addDigestEvent(state, event('b', sliding), 800);
    expect(state.flushAt).toBe(1800);
    addDigestEvent(state, event('c', sliding), 1700);
    addDigestEvent(state, event('d', sliding), 2400);
    expect(state.flushAt).toBe(2500);
  });

  it('flushes at once when it holds maxEvents, and leaves the rest of a larger burst for the next flush', () => {
    const three: DigestSettings = { windowMs: 60_000, maxEvents: 3 };
    const state = newDigestState();
    for (const id of ['a', 'b']) addDigestEvent(state, event(id, three), 0);
    expect(isDigestDue(state, 1)).toBe(false);
    for (const id of ['c', 'd']) addDigestEvent(state, event(id, three), 0);
    expect(isDigestDue(state, 1)).toBe(true);
    expect(takeDigestFlush(state, 1).events.map((e) => e.eventId)).toEqual(['a', 'b', 'c']);
    expect(state.pending.map((e) => e.eventId)).toEqual(['d']);
    expect(state.flushAt).toBe(60_001);
  });

  it('under a look-back, sends the first event at once unless something went within it', () => {
    const lookBack: DigestSettings = { lookBackMs: 5000, windowMs: 1000, maxEvents: 100 };
    const state = newDigestState();
    addDigestEvent(state, event('a', lookBack), 100);
    expect(isDigestDue(state, 100)).toBe(true);
    takeDigestFlush(state, 100);
    addDigestEvent(state, event('b', lookBack), 200);
    expect(state.flushAt).toBe(1200);
    takeDigestFlush(state, 1200);
    addDigestEvent(state, event('c', lookBack), 1200 + 5000);
    expect(isDigestDue(state, 6200)).toBe(true);
  });

  it('decides the look-back again once a new run has learned the last flush', () => {
    const lookBack: DigestSettings = { lookBackMs: 5000, windowMs: 1000, maxEvents: 100 };
    const state = newDigestState();
    addDigestEvent(state, event('a', lookBack), 10_000);
    expect(state.flushAt).toBe(10_000);
    state.lastFlushAt = 9000;
    reconsiderOpenBatch(state);
    expect(state.flushAt).toBe(11_000);
  });

  it('flushes a scheduled digest at its time', () => {
    const state = newDigestState();
    addDigestEvent(state, event('a', { atFlushAt: 50_000, maxEvents: 100 }), 10);
    expect(state.flushAt).toBe(50_000);
  });

  it('ignores a repeated event, pending, flushed or removed', () => {
    const state = newDigestState();
    expect(addDigestEvent(state, event('a', fixed), 0)).toBe('added');
    expect(addDigestEvent(state, event('a', fixed), 1)).toBe('repeated');
    takeDigestFlush(state, 1000);
    expect(addDigestEvent(state, event('a', fixed), 1001)).toBe('repeated');
    addDigestEvent(state, event('b', fixed), 1002);
    expect(removeDigestEvent(state, 'b')).toBe(true);
    expect(addDigestEvent(state, event('b', fixed), 1003)).toBe('repeated');
  });

  it('keeps the other events when one is removed, and closes the batch when none is left', () => {
    const state = newDigestState();
    for (const id of ['a', 'b', 'c']) addDigestEvent(state, event(id, fixed), 0);
    removeDigestEvent(state, 'a');
    expect(digestSnapshot('d', state).pendingEventIds).toEqual(['b', 'c']);
    expect(state.flushAt).toBe(1000);
    expect(removeDigestEvent(state, 'zzz')).toBe(false);
    removeDigestEvent(state, 'b');
    removeDigestEvent(state, 'c');
    expect(digestSnapshot('d', state).flushAt).toBeNull();
    expect(isDigestDue(state, 5000)).toBe(false);
  });
});
