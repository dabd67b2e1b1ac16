import { nextWallClockTime } from '../../common/domain/digest-schedule';

describe('nextWallClockTime', () => {
  it('is later today when the time has not come, else tomorrow (UTC)', () => {
    expect(nextWallClockTime(new Date('2026-03-02T08:00:00Z'), { hour: 9, minute: 0 }).toISOString()).toBe(
      '2026-03-02T09:00:00.000Z',
    );
    expect(nextWallClockTime(new Date('2026-03-02T09:00:00Z'), { hour: 9, minute: 0 }).toISOString()).toBe(
      '2026-03-03T09:00:00.000Z',
    );
  });

  it('goes to the day of the week asked (0 = Sunday)', () => {
    // 2026-03-02 is a Monday.
    expect(
      nextWallClockTime(new Date('2026-03-02T10:00:00Z'), { hour: 9, minute: 30, dayOfWeek: 0 }).toISOString(),
    ).toBe('2026-03-08T09:30:00.000Z');
    expect(
      nextWallClockTime(new Date('2026-03-02T10:00:00Z'), { hour: 9, minute: 30, dayOfWeek: 1 }).toISOString(),
    ).toBe('2026-03-09T09:30:00.000Z');
  });

  it("reads the time in the user's time zone, across a daylight-saving change", () => {
    // Rome is UTC+1 in winter, UTC+2 from 2026-03-29.
    expect(
      nextWallClockTime(new Date('2026-03-02T10:00:00Z'), { hour: 9, minute: 0 }, 'Europe/Rome').toISOString(),
    ).toBe('2026-03-03T08:00:00.000Z');
    expect(
      nextWallClockTime(new Date('2026-03-28T10:00:00Z'), { hour: 9, minute: 0 }, 'Europe/Rome').toISOString(),
    ).toBe('2026-03-29T07:00:00.000Z');
    expect(
      nextWallClockTime(new Date('2026-03-02T23:30:00Z'), { hour: 0, minute: 15 }, 'Asia/Tokyo').toISOString(),
    ).toBe('2026-03-03T15:15:00.000Z');
  });
});
