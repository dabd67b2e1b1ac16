import { createHash } from 'node:crypto';
import { customerHash } from '../../common/domain/conversation-model';

/** A conversation's customer in the Temporal UI (docs/whatsapp.md): a keyed hash, never the number. */
describe('customerHash', () => {
  const SECRET = 'customer-hash-secret-0001';
  const PHONE = '+919812345600';

  it('is an HMAC keyed by CUSTOMER_HASH_SECRET: another secret, another hash', () => {
    const hash = customerHash(SECRET, PHONE);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(customerHash('customer-hash-secret-0002', PHONE)).not.toBe(hash);
    expect(customerHash(SECRET, '+919812345601')).not.toBe(hash);
  });

  it('is not the unkeyed SHA-256 of the number that anyone can compute for every number', () => {
    const unkeyed = createHash('sha256').update('customer:919812345600').digest('hex').slice(0, 16);
    expect(customerHash(SECRET, PHONE)).not.toBe(unkeyed);
  });

  it('names one number by one hash however a provider writes it', () => {
    const hash = customerHash(SECRET, PHONE);
    for (const written of ['919812345600', '00919812345600', '+91 98123 45600'])
      expect([written, customerHash(SECRET, written)]).toEqual([written, hash]);
  });
});
