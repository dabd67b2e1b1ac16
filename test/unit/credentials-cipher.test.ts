import { createCipheriv, randomBytes } from 'node:crypto';
import { CredentialsCipher, type EncryptedCredentials } from '../../common/crypto/credentials-cipher';

const key = () => randomBytes(32).toString('base64');
const SECRET = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG', region: 'ap-south-1' };

describe('CredentialsCipher (PROVIDER_CREDENTIALS_KEYS)', () => {
  const oldKey = key();
  const newKey = key();

  it('encrypts with AES-256-GCM under the first key, naming it, and decrypts what it encrypted', () => {
    const cipher = new CredentialsCipher(`k1:${oldKey}`);
    expect(cipher.canEncrypt).toBe(true);
    const encrypted = cipher.encrypt(SECRET);
    expect(encrypted.keyId).toBe('k1');
    expect(Buffer.from(encrypted.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(encrypted.tag, 'base64')).toHaveLength(16);
    const stored = JSON.stringify(encrypted);
    for (const value of Object.values(SECRET)) expect(stored).not.toContain(value);
    expect(stored).not.toContain(Buffer.from(SECRET.secretAccessKey).toString('base64'));
    expect(cipher.decrypt(encrypted)).toEqual(SECRET);
    // A fresh IV each time: equal credentials do not look equal at rest.
    expect(cipher.encrypt(SECRET).data).not.toBe(encrypted.data);
  });

  it('rotates: a new first key encrypts, and credentials of the old key still decrypt while it is listed', () => {
    const before = new CredentialsCipher(`old:${oldKey}`).encrypt(SECRET);
    const rotated = new CredentialsCipher(`new:${newKey},old:${oldKey}`);
    expect(rotated.decrypt(before)).toEqual(SECRET);
    expect(rotated.encrypt(SECRET).keyId).toBe('new');
    const dropped = new CredentialsCipher(`new:${newKey}`);
    expect(() => dropped.decrypt(before)).toThrow(/PROVIDER_CREDENTIALS_KEYS has no key "old"/);
  });

  it('refuses altered credentials and a key id relabelled onto another key, naming no key or credential', () => {
    const cipher = new CredentialsCipher(`a:${oldKey},b:${oldKey}`);
    const encrypted = cipher.encrypt(SECRET);
    const data = Buffer.from(encrypted.data, 'base64');
    data[0] ^= 1;
    const failures = [
      () => cipher.decrypt({ ...encrypted, data: data.toString('base64') }),
      () => cipher.decrypt({ ...encrypted, keyId: 'b' }),
      () => cipher.decrypt({ ...encrypted, tag: Buffer.alloc(16).toString('base64') }),
      () => cipher.decrypt({ ...encrypted, iv: 'AAAA' }),
    ];
    for (const failure of failures) {
      let message = '';
      try {
        failure();
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/credentials/);
      expect(message).not.toContain(oldKey);
      expect(message).not.toContain(SECRET.secretAccessKey);
    }
  });

  it('without keys encrypts nothing, naming the variable', () => {
    for (const unset of [undefined, '', '  ']) {
      const cipher = new CredentialsCipher(unset);
      expect(cipher.canEncrypt).toBe(false);
      expect(() => cipher.encrypt(SECRET)).toThrow(/^PROVIDER_CREDENTIALS_KEYS is not set/);
    }
  });

  it("binds the provider's name into the authenticated data: another provider's document does not decrypt them", () => {
    const cipher = new CredentialsCipher(`k1:${oldKey}`);
    const bound = cipher.encrypt(SECRET, 'ses external');
    expect(bound.provider).toBe('ses external');
    expect(cipher.decrypt(bound, 'ses external')).toEqual(SECRET);
    const refusals: [string, () => unknown, RegExp][] = [
      ['read for another provider', () => cipher.decrypt(bound, 'ses internal'), /belong to the provider/],
      ['read for no provider', () => cipher.decrypt(bound), /belong to the provider/],
      [
        'relabelled with the other name',
        () => cipher.decrypt({ ...bound, provider: 'ses internal' }, 'ses internal'),
        /do not decrypt/,
      ],
      ['stripped of the name', () => cipher.decrypt({ ...bound, provider: undefined }), /do not decrypt/],
    ];
    for (const [what, refusal, message] of refusals) {
      let error = '';
      try {
        refusal();
      } catch (caught) {
        error = (caught as Error).message;
      }
      expect([what, error]).toEqual([what, expect.stringMatching(message)]);
    }
  });

  it('still decrypts credentials stored before the binding (the key id alone), whoever reads them', () => {
    // As the cipher wrote them before: AES-256-GCM with the key id as the only additional data.
    const iv = randomBytes(12);
    const writer = createCipheriv('aes-256-gcm', Buffer.from(oldKey, 'base64'), iv).setAAD(Buffer.from('k1'));
    const data = Buffer.concat([writer.update(JSON.stringify(SECRET), 'utf8'), writer.final()]);
    const stored: EncryptedCredentials = {
      keyId: 'k1',
      iv: iv.toString('base64'),
      tag: writer.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    const cipher = new CredentialsCipher(`k2:${newKey},k1:${oldKey}`);
    expect(cipher.decrypt(stored, 'ses external')).toEqual(SECRET);
    expect(cipher.decrypt(stored)).toEqual(SECRET);
    // Without a provider (a conversation's webhook secret, `sealSecret`): written and read as before.
    expect(cipher.encrypt(SECRET)).not.toHaveProperty('provider');
  });
});
