import { defaultPayloadConverter } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { EncryptionCodec, ENCRYPTION_KEY_ID, parseCodecKeys } from '../../common/crypto/encryption-codec';

const key = () => randomBytes(32).toString('base64');
const payload = (value: unknown) => defaultPayloadConverter.toPayload(value)!;
const value = (decoded: Parameters<typeof defaultPayloadConverter.fromPayload>[0]) =>
  defaultPayloadConverter.fromPayload(decoded);

describe('EncryptionCodec', () => {
  const [first, second] = [`k1:${key()}`, `k2:${key()}`];

  it('encrypts with the first key, naming it, and decodes back', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(`${first},${second}`));
    const [encoded] = await codec.encode([payload({ phone: '+393331234567' })]);
    expect(Buffer.from(encoded.data!).toString('latin1')).not.toContain('+393331234567');
    expect(new TextDecoder().decode(encoded.metadata![ENCRYPTION_KEY_ID])).toBe('k1');
    const [decoded] = await codec.decode([encoded]);
    expect(value(decoded)).toEqual({ phone: '+393331234567' });
  });

  it('decodes what a rotated-out key encrypted while it is still listed, and fails once it is not', async () => {
    const [encoded] = await new EncryptionCodec(parseCodecKeys(second)).encode([payload('old')]);
    expect(value((await new EncryptionCodec(parseCodecKeys(`${first},${second}`)).decode([encoded]))[0])).toBe('old');
    await expect(new EncryptionCodec(parseCodecKeys(first)).decode([encoded])).rejects.toThrow(
      /key k2, which TEMPORAL_CODEC_KEYS does not hold/,
    );
  });

  it('passes a payload without a key id through as it is (histories recorded before encryption)', async () => {
    const plain = payload({ recorded: 'before' });
    expect(await new EncryptionCodec(parseCodecKeys(first)).decode([plain])).toEqual([plain]);
  });

  it('refuses a payload relabelled with another key id or altered', async () => {
    const keys = parseCodecKeys(`${first},k2:${parseCodecKeys(first)[0].key.toString('base64')}`);
    const codec = new EncryptionCodec(keys);
    const [encoded] = await codec.encode([payload('x')]);
    const relabelled = { ...encoded, metadata: { ...encoded.metadata, [ENCRYPTION_KEY_ID]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow();
    const altered = Buffer.from(encoded.data!);
    altered[20] ^= 1;
    await expect(codec.decode([{ ...encoded, data: altered }])).rejects.toThrow();
  });
});

describe('parseCodecKeys', () => {
  it.each([
    ['nokey', /key 1: expected <id>:<base64 key>/],
    [`a:${randomBytes(16).toString('base64')}`, /key a: must be 32 bytes/],
    [`a:${key()},a:${key()}`, /key id a appears twice/],
    [' , ', /names no key/],
  ])('refuses %s', (keys, message) => {
    expect(() => parseCodecKeys(keys)).toThrow(message);
  });
});
