import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A key of `TEMPORAL_CODEC_KEYS`: its id travels in each payload it encrypted, so that a rotated key still decrypts. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** Metadata of an encrypted payload; a payload without `ENCRYPTION_KEY_ID` is plaintext and decodes as it is. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const ENCRYPTION_KEY_ID = 'encryption-key-id';
const ENCRYPTION_CIPHER = 'encryption-cipher';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

/**
 * Parses `TEMPORAL_CODEC_KEYS`: `id1:base64key,id2:base64key`, each key 32 bytes (AES-256), ids unique. The first
 * encrypts; all decrypt. Throws an `Error` whose message says what is wrong, never a key.
 */
export function parseCodecKeys(value: string): CodecKey[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('names no key (expected id1:base64key,id2:base64key)');
  const keys = entries.map((entry, index) => {
    const separator = entry.indexOf(':');
    const id = separator > 0 ? entry.slice(0, separator) : '';
    if (!KEY_ID_PATTERN.test(id))
      throw new Error(`key ${index + 1}: expected <id>:<base64 key>, the id of letters, digits, '.', '_' or '-'`);
    const encoded = entry.slice(separator + 1);
    const key = Buffer.from(encoded, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== 32)
      throw new Error(`key ${id}: must be 32 bytes in base64 (openssl rand -base64 32)`);
    return { id, key };
  });
  const ids = keys.map((key) => key.id);
  const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
  if (repeated) throw new Error(`key id ${repeated} appears twice`);
  return keys;
}

/**
 * AES-256-GCM payload codec (docs/operations.md "Encryption of workflow data"): `encode` encrypts the whole payload,
 * its metadata included, with the first key and names that key in the metadata; `decode` decrypts with the key named,
 * so payloads written before a rotation still decode, and passes a payload without a key id through as it is (histories
 * recorded before encryption, search attributes). The key id is the GCM additional data: a payload relabelled with
 * another key id fails instead of decrypting.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly encryptWith: CodecKey;

  constructor(keys: CodecKey[]) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.encryptWith = keys[0];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.encryptWith;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, key, iv).setAAD(Buffer.from(id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: utf8(ENCRYPTED_ENCODING),
          [ENCRYPTION_CIPHER]: utf8(CIPHER),
          [ENCRYPTION_KEY_ID]: utf8(id),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const id = text(payload.metadata?.[ENCRYPTION_KEY_ID]);
      if (id === undefined) return payload;
      const key = this.keys.get(id);
      if (!key) throw new Error(`payload encrypted with key ${id}, which TEMPORAL_CODEC_KEYS does not hold`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`encrypted payload of ${data.length} bytes is cut short`);
      const decipher = createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES)).setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
