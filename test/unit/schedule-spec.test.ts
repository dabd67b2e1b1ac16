import { cronProblem, isKnownTimezone, temporalSpecOf } from '../../api/services/schedule-spec';

describe('the times of a recurring send (POST /schedules)', () => {
  it.each(['0 9 * * *', '*/15 8-18 * * MON-FRI', '0,30 9 1,15 JAN-MAR 0', '59 23 31 12 6', '0 9 * * sun'])(
    'takes the cron %s',
    (cron) => {
      expect(cronProblem(cron)).toBeUndefined();
    },
  );

  it.each([
    ['0 9 * *', /five fields/],
    ['0 9 * * * *', /five fields/],
    ['60 9 * * *', /^minute/],
    ['0 24 * * *', /^hour/],
    ['0 9 0 * *', /^day of month/],
    ['0 9 * 13 *', /^month/],
    ['0 9 * * 7', /^day of week/],
    ['0 9 * * MON-', /^day of week/],
    ['0 9 5-1 * *', /^day of month/],
    ['*/0 9 * * *', /^minute: step 0/],
    ['0 MON * * *', /^hour/],
    ['@daily', /five fields/],
  ])('refuses the cron %s, naming the field', (cron, problem) => {
    expect(cronProblem(cron)).toMatch(problem);
  });

  it('knows IANA time zones and only those', () => {
    expect(isKnownTimezone('Europe/Rome')).toBe(true);
    expect(isKnownTimezone('UTC')).toBe(true);
    expect(isKnownTimezone('Mars/Olympus')).toBe(false);
  });

  it('translates a calendar into Temporal names, with no jitter, in the time zone, within its bounds', () => {
    expect(
      temporalSpecOf(
        {
          calendar: [
            { hour: 9, minute: 0, dayOfWeek: [1, 5], month: 12 },
            { hour: [7, 19], minute: 30, dayOfMonth: 1 },
          ],
          startAt: '2027-01-01T00:00:00+01:00',
        },
        'Europe/Rome',
      ),
    ).toEqual({
      calendars: [
        { hour: [9], minute: [0], dayOfWeek: ['MONDAY', 'FRIDAY'], month: ['DECEMBER'] },
        { hour: [7, 19], minute: [30], dayOfMonth: [1] },
      ],
      startAt: new Date('2026-12-31T23:00:00Z'),
      timezone: 'Europe/Rome',
      jitter: 0,
    });
  });

  it('translates every and cron', () => {
    expect(temporalSpecOf({ every: 'PT2S' }, 'UTC')).toEqual({
      intervals: [{ every: 2000 }],
      timezone: 'UTC',
      jitter: 0,
    });
    expect(temporalSpecOf({ cron: ' 0 9 * * MON ' }, 'UTC')).toMatchObject({ cronExpressions: ['0 9 * * MON'] });
  });

  it.each([
    [{ every: 'PT1H' }, 'Mars/Olympus', /^timezone: /],
    [{ cron: '0 9 * *' }, 'UTC', /^spec\.cron: /],
    [{ every: 'P1M' }, 'UTC', /^spec\.every: /],
    [{ every: 'PT0S' }, 'UTC', /^spec\.every: /],
    [{}, 'UTC', /^spec: exactly one/],
    [{ every: 'PT1H', startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' }, 'UTC', /^spec\.endAt: /],
  ])('refuses %j in %s with a 400 naming the field', (times, timezone, message) => {
    expect(() => temporalSpecOf(times, timezone)).toThrow(
      expect.objectContaining({ statusCode: 400, message: expect.stringMatching(message) }),
    );
  });
});
