import { randomBytes } from 'node:crypto';
import { ConfigurationError, parseEnvironment, PROFILE_DEFAULTS } from '../../common/config';
import { temporalDataConverter } from '../../common/data-converter';
import { parseCodecKeys } from '../../common/encryption-codec';

describe('TEMPORAL_CODEC_KEYS', () => {
  it('stops the boot when malformed, naming the variable and never the key', () => {
    const shortKey = randomBytes(16).toString('base64');
    const parse = () => parseEnvironment({ TEMPORAL_CODEC_KEYS: `a:${shortKey}` });
    expect(parse).toThrow(ConfigurationError);
    expect(parse).toThrow(/TEMPORAL_CODEC_KEYS.*key a: must be 32 bytes/);
    expect(parse).not.toThrow(shortKey);
  });

  it('is required in production, and the development profile holds a valid key', () => {
    expect(() => temporalDataConverter(parseEnvironment({}))).toThrow(/TEMPORAL_CODEC_KEYS: required/);
    expect(parseCodecKeys(PROFILE_DEFAULTS.development.TEMPORAL_CODEC_KEYS!)).toHaveLength(1);
    expect(temporalDataConverter(parseEnvironment({ MESSAGING_PROFILE: 'development' })).payloadCodecs).toHaveLength(1);
  });
});
