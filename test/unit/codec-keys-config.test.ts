import { randomBytes } from 'node:crypto';
import { buildApp } from '../../api/app';
import { ConfigurationError } from '../../common/config/config';
import { loadConfig, parseEnvironment } from '../../providers/service-configuration';
import { createWorker } from '../../worker/create-worker';
import { PROFILE_DEFAULTS } from '../../common/config/profiles';
import { temporalDataConverter } from '../../common/temporal/data-converter';
import { parseCodecKeys } from '../../common/crypto/encryption-codec';

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

  it("stops the API's boot naming it before the API connects to anything", async () => {
    // MongoDB unreachable too: the refusal names the key, not the database plugin's timeout.
    const config = loadConfig({
      MONGODB_URL: 'mongodb://127.0.0.1:1/messaging?serverSelectionTimeoutMS=20000',
      API_AUTH: 'none',
    });
    const started = Date.now();
    await expect(buildApp({ config, logger: false })).rejects.toThrow(/^TEMPORAL_CODEC_KEYS: required/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("names the missing API_KEYS in the same refusal of the API's boot", async () => {
    const config = loadConfig({ MONGODB_URL: 'mongodb://127.0.0.1:1/messaging?serverSelectionTimeoutMS=20000' });
    const refusal = buildApp({ config, logger: false });
    await expect(refusal).rejects.toThrow(
      /^2 configuration problems:\n- TEMPORAL_CODEC_KEYS: required.*\n- API_KEYS: required/,
    );
  });

  it("stops the worker's boot naming it and every missing provider setting at once, before connecting", async () => {
    // Temporal and MongoDB unreachable: the refusal comes before any connection is tried.
    const config = loadConfig({
      MONGODB_URL: 'mongodb://127.0.0.1:1/messaging?serverSelectionTimeoutMS=20000',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      TWILIO_ACCOUNT_SID: 'AC1',
    });
    const started = Date.now();
    const refusal = await createWorker(config).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigurationError);
    const { problems } = refusal as ConfigurationError;
    expect(problems[0]).toMatch(/^TEMPORAL_CODEC_KEYS: required/);
    expect(problems[1]).toMatch(/SMTP_URL: required \(smtp sends email\).*TWILIO_AUTH_TOKEN: required/);
    expect((refusal as Error).message).toContain(problems.join('\n- '));
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
