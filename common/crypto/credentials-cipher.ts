import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseCodecKeys, type CodecKey } from './encryption-codec';

/** A registered provider's credentials at rest: AES-256-GCM, each part base64. */
export interface EncryptedCredentials {
  /** The `PROVIDER_CREDENTIALS_KEYS` entry that encrypted them, so that a rotated key still decrypts. */
  keyId: string;
  iv: string;
  tag: string;
  data: string;
  /**
   * The registered provider whose document holds them, bound into the GCM additional data with the key id: copied
   * into another provider's document, they do not decrypt. Absent on what was stored before the binding (key id
   * alone) and on what belongs to no provider (a conversation's webhook secret).
   */
  provider?: string;
}

/** The GCM additional data: the key id alone (records of old, `sealSecret`), or the key id and the provider. */
const additionalData = (keyId: string, provider: string | undefined): Buffer =>
  Buffer.from(provider === undefined ? keyId : JSON.stringify(['provider', keyId, provider]));

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Why credentials cannot be stored: the API answers it as a 503. */
export const NO_CREDENTIALS_KEY =
  'PROVIDER_CREDENTIALS_KEYS is not set: provider credentials are stored only encrypted (docs/configuration.md)';

/**
 * Encrypts and decrypts the credentials of registered providers (docs/os1-messaging.md) with the keys of
 * `PROVIDER_CREDENTIALS_KEYS` (`id:base64key,…`, as `TEMPORAL_CODEC_KEYS`): the first key encrypts, every key
 * decrypts, so keys rotate by putting a new one first. The key id and the provider's name are the GCM additional
 * data: a document relabelled with another key id, or credentials copied into another provider's document, fail
 * instead of decrypting. Errors name a key by its id, never a key or a credential.
 */
export class CredentialsCipher {
  private readonly keys: Map<string, Buffer>;
  private readonly encryptWith: CodecKey | undefined;

  /** `keysEnv`: `PROVIDER_CREDENTIALS_KEYS` as configured; unset, the cipher decrypts nothing and encrypts nothing. */
  constructor(keysEnv: string | undefined) {
    const keys = keysEnv === undefined || keysEnv.trim() === '' ? [] : parseCodecKeys(keysEnv);
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.encryptWith = keys[0];
  }

  /** Whether a key is configured to encrypt with. */
  get canEncrypt(): boolean {
    return this.encryptWith !== undefined;
  }

  /** `provider`: the registered provider they belong to, bound to them (`EncryptedCredentials.provider`). */
  encrypt(credentials: Record<string, unknown>, provider?: string): EncryptedCredentials {
    if (!this.encryptWith) throw new Error(NO_CREDENTIALS_KEY);
    const { id, key } = this.encryptWith;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, key, iv).setAAD(additionalData(id, provider));
    const data = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    return {
      keyId: id,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
      ...(provider === undefined ? {} : { provider }),
    };
  }

  /**
   * `provider`: the registered provider whose document holds them. Credentials bound to a provider decrypt only for
   * that one; those stored before the binding existed decrypt as they were (re-registering them binds them).
   */
  decrypt(encrypted: EncryptedCredentials, provider?: string): Record<string, unknown> {
    if (encrypted.provider !== undefined && encrypted.provider !== provider)
      throw new Error(
        `credentials of provider "${encrypted.provider}" are read for ${provider === undefined ? 'no provider' : `provider "${provider}"`}: they belong to the provider that stored them`,
      );
    const key = this.keys.get(encrypted.keyId);
    if (!key)
      throw new Error(
        `PROVIDER_CREDENTIALS_KEYS has no key "${encrypted.keyId}", which encrypted these credentials: keep it listed after the new one until every provider is re-registered`,
      );
    const iv = Buffer.from(encrypted.iv, 'base64');
    const tag = Buffer.from(encrypted.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
      throw new Error(`credentials encrypted with key "${encrypted.keyId}" are malformed`);
    const decipher = createDecipheriv(CIPHER, key, iv)
      .setAAD(additionalData(encrypted.keyId, encrypted.provider))
      .setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(Buffer.from(encrypted.data, 'base64')), decipher.final()]);
    } catch {
      throw new Error(`credentials do not decrypt with key "${encrypted.keyId}" (altered, or another key of that id)`);
    }
    return JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
  }
}

/** How a sealed secret starts, so that a secret stored before sealing existed is still read as it was. */
const SEALED_PREFIX = 'sealed:';

/**
 * A secret of a caller's webhook (a conversation's) as it is stored: encrypted like provider credentials, as one
 * string, so the documents keep their shape. The activity that signs with it opens it.
 */
export const sealSecret = (cipher: CredentialsCipher, secret: string): string =>
  `${SEALED_PREFIX}${Buffer.from(JSON.stringify(cipher.encrypt({ secret }))).toString('base64url')}`;

export function openSecret(cipher: CredentialsCipher, stored: string): string {
  if (!stored.startsWith(SEALED_PREFIX)) return stored;
  const encrypted = JSON.parse(Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64url').toString('utf8'));
  return String(cipher.decrypt(encrypted as EncryptedCredentials).secret);
}
