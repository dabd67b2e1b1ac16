import { isoDurationMs } from '../../common/toolkit/iso-duration';

describe('isoDurationMs: one grammar for every ISO 8601 duration the service reads', () => {
  it.each([
    ['PT2S', 2000],
    ['PT1.5S', 1500],
    ['PT0.125S', 125],
    ['PT10M', 600_000],
    ['PT1H', 3_600_000],
    ['PT1H30M', 5_400_000],
    ['P1D', 86_400_000],
    ['P1DT1S', 86_401_000],
    ['P1DT2H3M4S', 93_784_000],
    ['P1W', 604_800_000],
    ['P1W2D', 777_600_000],
    ['P366D', 366 * 86_400_000],
    ['PT0S', 0],
  ])('reads %s', (text, ms) => expect(isoDurationMs(text)).toBe(ms));

  it.each([
    '',
    'P',
    'PT',
    'P1DT',
    '1H',
    '2S',
    'PT1H ',
    ' PT1H',
    'P1M',
    'P1Y',
    'P1Y2M',
    'PT-1S',
    'pt1h',
    'PT1.2345S',
    'PT1.5M',
    'P1D1W',
    'PT1S1M',
  ])('refuses %j', (text) => expect(isoDurationMs(text)).toBeNull());
});
