import { randomBytes } from 'node:crypto';
import { erasureBodySchema } from '../../api/schemas/erasures-schemas';
import { addressForms, isEmailAddress, isPhoneNumber, subjectHash } from '../../common/store/erasure';

describe('erasure subjects (docs/operations.md "Erasure")', () => {
  it('finds a phone number in each stored form, an email as given and in lower case', () => {
    expect(addressForms('+39 333 123 4567')).toEqual(['+39 333 123 4567', '+393331234567', '393331234567']);
    expect(addressForms('+393331234567')).toEqual(['+393331234567', '393331234567']);
    expect(addressForms('Mario@Example.com')).toEqual(['Mario@Example.com', 'mario@example.com']);
    expect(addressForms('mario@example.com')).toEqual(['mario@example.com']);
  });

  it('tells an email address and a phone number from anything else', () => {
    expect([isEmailAddress('a@b.c'), isEmailAddress('a b@c'), isEmailAddress('+3933')]).toEqual([true, false, false]);
    expect(['+393331234567', '(555) 010-0001', '1234', 'call me', '+1234567890123456'].map(isPhoneNumber)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('keeps a keyed hash of the subject: the same for one key, another for another key, never the subject', () => {
    const key = { id: 'k1', key: randomBytes(32) };
    const hash = subjectHash(key, { address: '+393331234567' });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(subjectHash(key, { address: '+393331234567' })).toBe(hash);
    expect(subjectHash({ id: 'k2', key: randomBytes(32) }, { address: '+393331234567' })).not.toBe(hash);
    // The kind is hashed too: a user id that reads like an address is another subject.
    expect(subjectHash(key, { userId: '+393331234567' })).not.toBe(hash);
  });

  it.each([
    [{}, 'userId: give userId or address'],
    [{ userId: 'u', address: 'a@b.c' }, 'address: give userId or address, not both'],
    [{ address: 'nobody' }, 'address: must be an email address or a phone number'],
  ])('refuses %j naming the field', (body, message) => {
    const parsed = erasureBodySchema.safeParse(body);
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues[0];
    expect(`${issue.path.join('.')}: ${issue.message}`).toBe(message);
  });
});
