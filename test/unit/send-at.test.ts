import { HttpError } from '../../common/domain/http-errors';
import { resolveSendAt } from '../../api/services/send-at';

const NOW = new Date('2026-12-06T12:00:00Z');
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).statusCode).toBe(400);
    return (error as Error).message;
  }
  throw new Error('not refused');
};

describe('resolveSendAt', () => {
  it('is undefined without sendAt or delay: the send goes at once', () => {
    expect(resolveSendAt({}, NOW)).toBeUndefined();
  });

  it('takes sendAt with its offset, and delay from now', () => {
    expect(resolveSendAt({ sendAt: '2026-12-06T14:30:00+02:00' }, NOW)).toEqual(new Date('2026-12-06T12:30:00Z'));
    expect(resolveSendAt({ delay: 'PT30M' }, NOW)).toEqual(new Date('2026-12-06T12:30:00Z'));
    expect(resolveSendAt({ delay: 'P1DT2H' }, NOW)).toEqual(new Date('2026-12-07T14:00:00Z'));
  });

  it('refuses a past, too far or unreadable sendAt, naming the field', () => {
    expect(refusal(() => resolveSendAt({ sendAt: '2026-12-06T11:59:59Z' }, NOW))).toMatch(/^sendAt: .* in the past/);
    expect(refusal(() => resolveSendAt({ sendAt: '2026-12-06T12:00:00Z' }, NOW))).toMatch(/^sendAt: .* in the past/);
    expect(refusal(() => resolveSendAt({ sendAt: '2027-12-08T12:00:00Z' }, NOW))).toMatch(/^sendAt: .* 366 days/);
    expect(refusal(() => resolveSendAt({ sendAt: 'tomorrow' }, NOW))).toMatch(/^sendAt: /);
  });

  it('refuses a bad, empty or too long delay, and both fields at once', () => {
    expect(refusal(() => resolveSendAt({ delay: '30 minutes' }, NOW))).toMatch(/^delay: .* ISO 8601 duration/);
    expect(refusal(() => resolveSendAt({ delay: 'P1M' }, NOW))).toMatch(/^delay: /);
    expect(refusal(() => resolveSendAt({ delay: 'PT0S' }, NOW))).toMatch(/^delay: .* positive/);
    expect(refusal(() => resolveSendAt({ delay: 'P367D' }, NOW))).toMatch(/^delay: .* 366 days/);
    expect(refusal(() => resolveSendAt({ sendAt: '2026-12-07T00:00:00Z', delay: 'PT1M' }, NOW))).toMatch(
      /^sendAt: give sendAt or delay, not both/,
    );
  });
});
