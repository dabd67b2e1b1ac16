import { isOptOutReply, normalAddress } from '../../common/domain/suppression-address';

describe('normalAddress: the one form a suppression list compares', () => {
  it.each([
    ['email', ' Mario@Example.COM ', 'mario@example.com'],
    ['email', 'not an address', null],
    ['sms', '+39 333 123-4567', '+393331234567'],
    ['sms', '0039 (333) 1234567', '+393331234567'],
    ['voice', '393331234567', '+393331234567'],
    ['whatsapp', 'whatsapp:+393331234567', '+393331234567'],
    ['sms', '+0123456', null],
    ['sms', 'call me', null],
    ['sms', '+1234567890123456', null],
    ['push', ' token-1 ', 'token-1'],
    ['push', '  ', null],
  ] as const)('%s %j → %j', (channel, address, normal) => {
    expect(normalAddress(channel, address)).toBe(normal);
  });
});

describe('isOptOutReply', () => {
  it('takes an opt-out keyword alone, in any case, and nothing longer', () => {
    expect(['STOP', ' stop ', 'Unsubscribe', 'STOP.', 'quit!'].map(isOptOutReply)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['stop by later', 'non-stop', '', 'STOPP'].map(isOptOutReply)).toEqual([false, false, false, false]);
  });
});
