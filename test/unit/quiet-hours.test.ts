import { quietHoursEndAt, timezoneOfUser } from '../../common/domain/quiet-hours';

const at = (iso: string) => new Date(iso);
const endAt = (iso: string, quietHours: Parameters<typeof quietHoursEndAt>[1], timezone = 'UTC') =>
  quietHoursEndAt(at(iso), quietHours, timezone)?.toISOString() ?? null;

describe('quietHoursEndAt', () => {
  const night = { start: '22:00', end: '07:00' };

  it('holds a window through midnight, start included and end excluded', () => {
    expect(endAt('2026-06-10T21:59:59Z', night)).toBeNull();
    expect(endAt('2026-06-10T22:00:00Z', night)).toBe('2026-06-11T07:00:00.000Z');
    expect(endAt('2026-06-11T03:30:00Z', night)).toBe('2026-06-11T07:00:00.000Z');
    expect(endAt('2026-06-11T06:59:59Z', night)).toBe('2026-06-11T07:00:00.000Z');
    expect(endAt('2026-06-11T07:00:00Z', night)).toBeNull();
    expect(endAt('2026-06-11T12:00:00Z', night)).toBeNull();
  });

  it('holds a window within one day', () => {
    const lunch = { start: '12:00', end: '14:00' };
    expect(endAt('2026-06-10T11:59:00Z', lunch)).toBeNull();
    expect(endAt('2026-06-10T12:00:00Z', lunch)).toBe('2026-06-10T14:00:00.000Z');
    expect(endAt('2026-06-10T14:00:00Z', lunch)).toBeNull();
    expect(endAt('2026-06-10T12:00:00Z', { start: '12:00', end: '12:00' })).toBeNull();
  });

  it('reads days as the days a window starts on', () => {
    // 2026-06-12 is a Friday.
    const fridayNights = { ...night, days: ['fri' as const] };
    expect(endAt('2026-06-12T23:00:00Z', fridayNights)).toBe('2026-06-13T07:00:00.000Z');
    expect(endAt('2026-06-13T03:00:00Z', fridayNights)).toBe('2026-06-13T07:00:00.000Z');
    expect(endAt('2026-06-13T23:00:00Z', fridayNights)).toBeNull();
    expect(endAt('2026-06-12T03:00:00Z', fridayNights)).toBeNull();
    const mondayLunch = { start: '12:00', end: '14:00', days: ['mon' as const] };
    expect(endAt('2026-06-15T13:00:00Z', mondayLunch)).toBe('2026-06-15T14:00:00.000Z');
    expect(endAt('2026-06-16T13:00:00Z', mondayLunch)).toBeNull();
  });

  it("reads the window on the user's wall clock", () => {
    // 22:30 in Rome (UTC+2 in June) is 20:30Z; the window ends at 07:00 Rome, 05:00Z.
    expect(endAt('2026-06-10T20:30:00Z', night, 'Europe/Rome')).toBe('2026-06-11T05:00:00.000Z');
    expect(endAt('2026-06-10T20:30:00Z', night, 'America/New_York')).toBeNull();
    // The local day decides the weekday: Friday 23:00 in New York is Saturday 03:00Z.
    expect(endAt('2026-06-13T03:00:00Z', { ...night, days: ['fri'] }, 'America/New_York')).toBe(
      '2026-06-13T11:00:00.000Z',
    );
  });

  it('ends across daylight-saving changes by the wall clock', () => {
    // Rome springs forward on 2026-03-29 at 02:00 CET (01:00Z): a night from 22:00 CET ends at 07:00 CEST (05:00Z).
    expect(endAt('2026-03-28T22:00:00Z', night, 'Europe/Rome')).toBe('2026-03-29T05:00:00.000Z');
    // An end the jump skips (02:30) ends the window when the clock jumps, 03:00 CEST.
    expect(endAt('2026-03-29T00:00:00Z', { start: '00:30', end: '02:30' }, 'Europe/Rome')).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    // Rome falls back on 2026-10-25 at 03:00 CEST (01:00Z): 07:00 CET is 06:00Z.
    expect(endAt('2026-10-24T21:00:00Z', night, 'Europe/Rome')).toBe('2026-10-25T06:00:00.000Z');
    // An end the fall-back repeats (02:30) ends the window at its first occurrence, 02:30 CEST (00:30Z).
    expect(endAt('2026-10-24T23:00:00Z', { start: '00:30', end: '02:30' }, 'Europe/Rome')).toBe(
      '2026-10-25T00:30:00.000Z',
    );
  });
});

describe('timezoneOfUser', () => {
  it('reads the configured field, else the default for an absent or unknown zone', () => {
    expect(timezoneOfUser({ tz: 'Asia/Tokyo' }, 'tz', 'UTC')).toBe('Asia/Tokyo');
    expect(timezoneOfUser({ tz: 'Mars/Olympus' }, 'tz', 'Europe/Rome')).toBe('Europe/Rome');
    expect(timezoneOfUser({ tz: 42 }, 'tz', 'UTC')).toBe('UTC');
    expect(timezoneOfUser({}, 'tz', 'UTC')).toBe('UTC');
    expect(timezoneOfUser(undefined, 'tz', 'UTC')).toBe('UTC');
  });
});
