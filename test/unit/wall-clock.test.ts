import { nextWallClockTime } from '../../common/domain/digest-schedule';
import { instantOfWallClock, wallClockAsUtc, wallClockOf } from '../../common/toolkit/wall-clock';

const iso = (ms: number) => new Date(ms).toISOString();

describe('wall clocks of IANA time zones', () => {
  it('reads what the clocks of a zone show, to the second', () => {
    expect(wallClockOf(new Date('2026-03-02T23:30:05Z'), 'Asia/Tokyo')).toEqual({
      year: 2026,
      month: 3,
      day: 3,
      hour: 8,
      minute: 30,
      second: 5,
    });
    // The zone's offset, to the millisecond.
    const at = Date.parse('2026-07-01T10:00:00.250Z');
    expect(wallClockAsUtc(at, 'Europe/Rome') - at).toBe(2 * 3_600_000);
    expect(wallClockAsUtc(at, 'UTC')).toBe(at);
  });

  it('finds the instant of a wall time in winter and summer', () => {
    expect(iso(instantOfWallClock(Date.UTC(2026, 0, 15, 9, 0), 'Europe/Rome'))).toBe('2026-01-15T08:00:00.000Z');
    expect(iso(instantOfWallClock(Date.UTC(2026, 6, 15, 9, 0), 'Europe/Rome'))).toBe('2026-07-15T07:00:00.000Z');
    expect(iso(instantOfWallClock(Date.UTC(2026, 6, 15, 9, 0), 'America/New_York'))).toBe('2026-07-15T13:00:00.000Z');
  });

  it('puts a time a spring-forward skips at the jump, and one a fall-back repeats at its first occurrence', () => {
    // Rome jumps from 02:00 CET to 03:00 CEST on 2026-03-29 (01:00Z): 02:30 does not happen.
    expect(iso(instantOfWallClock(Date.UTC(2026, 2, 29, 2, 30), 'Europe/Rome'))).toBe('2026-03-29T01:00:00.000Z');
    // Rome goes back from 03:00 CEST to 02:00 CET on 2026-10-25 (01:00Z): 02:30 happens at 00:30Z and 01:30Z.
    expect(iso(instantOfWallClock(Date.UTC(2026, 9, 25, 2, 30), 'Europe/Rome'))).toBe('2026-10-25T00:30:00.000Z');
  });

  it("gives a digest at a skipped time the jump too, as quiet hours' ends", () => {
    expect(
      nextWallClockTime(new Date('2026-03-28T12:00:00Z'), { hour: 2, minute: 30 }, 'Europe/Rome').toISOString(),
    ).toBe('2026-03-29T01:00:00.000Z');
  });
});
