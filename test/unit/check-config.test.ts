import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createChannelProviders } from '../../activities/providers';
import { ConfigurationError } from '../../common/config/config';
import { loadConfig } from '../../providers/service-configuration';
import { checkConfiguration, redactSetting } from '../../scripts/config-report';
import { ensureFcmServiceAccount } from '../../scripts/local-stack';

/** `npm run check-config` (docs/configuration.md): the boot's checks without a boot, secrets never printed. */
const root = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'check-config-'));
const secrets = {
  TWILIO_AUTH_TOKEN: 'twilio-secret-0001',
  KALEYRA_API_KEY: 'kaleyra-secret-0002',
  INFOBIP_API_KEY: 'infobip-secret-0003',
  API_KEYS: 'api-secret-0004-0123456789abcdef0123,api-secret-0005-0123456789abcdef0123',
  WEBHOOK_SECRET: 'webhook-secret-0008',
  CUSTOMER_HASH_SECRET: 'customer-hash-secret-0009',
};
const codecKey = Buffer.alloc(32, 7).toString('base64');
const credentialsKey = Buffer.alloc(32, 9).toString('base64');

const environment = {
  ...secrets,
  TEMPORAL_CODEC_KEYS: `k1:${codecKey}`,
  PROVIDER_CREDENTIALS_KEYS: `c2:${credentialsKey},c1:${codecKey}`,
  CONFIGURATION_PATH: 'config/default.json',
  SMTP_URL: 'smtp://mailer:smtp-secret-0006@mail.example.com:587',
  MONGODB_URL: 'mongodb://app:mongo-secret-0007@db1.example.com:27017,db2.example.com:27017/messaging',
  TWILIO_ACCOUNT_SID: 'AC0123',
  KALEYRA_SID: 'HX0123',
  FCM_PROJECT_ID: 'project-0123',
  FCM_CREDENTIALS_PATH: ensureFcmServiceAccount(path.join(dir, 'fcm.json')),
  INFOBIP_BASE_URL: 'https://xyz.api.infobip.com',
};

describe('npm run check-config', () => {
  it('prints the effective configuration, defaults and profile applied, with no secret in it', async () => {
    const report = await checkConfiguration(environment);
    for (const secret of [
      ...Object.values(secrets).flatMap((value) => value.split(',')),
      'smtp-secret',
      'mongo-secret',
      codecKey,
      credentialsKey,
    ])
      expect(report).not.toContain(secret);
    expect(report).toMatch(/PROVIDER_CREDENTIALS_KEYS +c2:\*\*\*,c1:\*\*\* +set/);
    expect(report).toMatch(/TWILIO_AUTH_TOKEN +\*\*\* +set/);
    expect(report).toMatch(/TEMPORAL_CODEC_KEYS +k1:\*\*\* +set/);
    expect(report).toContain('smtp://mailer:***@mail.example.com:587');
    expect(report).toContain('mongodb://app:***@db1.example.com:27017,db2.example.com:27017/messaging');
    expect(report).toMatch(/TWILIO_BASE_URL +https:\/\/api\.twilio\.com +production profile/);
    expect(report).toMatch(/TWILIO_ACCOUNT_SID +AC0123 +set/);
    expect(report).toMatch(/HTTP_PORT +3000 +default/);
    expect(report).toMatch(/FILE_SERVICE_URL +- +unset/);
    // The JSON configuration after its defaults: a key config/default.json leaves out is there.
    expect(report).toContain('"maximumAttempts": 5');
    expect(report).toContain('"deviceToken": "deviceToken"');
  });

  it.each([
    ['TWILIO_AUTH_TOKEN', 'abc', '***'],
    ['API_KEYS', 'k1,k2', '***'],
    ['TEMPORAL_CODEC_KEYS', 'new:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=,old:YWJj', 'new:***,old:***'],
    ['PROVIDER_CREDENTIALS_KEYS', 'new:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=,old:YWJj', 'new:***,old:***'],
    ['CUSTOMER_HASH_SECRET', 'anything-long-enough', '***'],
    ['FCM_PRIVATE_KEY', 'anything', '***'],
    ['SOME_JSON', '{"private_key":"-----BEGIN PRIVATE KEY-----\\nMII"}', '***'],
    ['SMTP_URL', 'smtps://user@example.com:pa:ss@mail.example.com', 'smtps://user@example.com:***@mail.example.com'],
    ['SMTP_URL', 'smtp://mailer:p@ss@mail.example.com', 'smtp://mailer:***@mail.example.com'],
    ['SMTP_URL', 'smtp://mail.example.com:25', 'smtp://mail.example.com:25'],
    ['TWILIO_ACCOUNT_SID', 'AC123', 'AC123'],
  ])('redacts %s=%s as %s', (name, value, printed) => {
    expect(redactSetting(name, value)).toBe(printed);
  });

  it('refuses a production environment without TEMPORAL_CODEC_KEYS, naming it, as the API and the worker do', async () => {
    const { TEMPORAL_CODEC_KEYS: _, ...withoutKeys } = environment;
    await expect(checkConfiguration(withoutKeys)).rejects.toThrow(/^TEMPORAL_CODEC_KEYS: required/);
  });

  it('refuses a production environment without API_KEYS, naming it, as the API does, unless API_AUTH=none', async () => {
    const { API_KEYS: _, ...withoutKeys } = environment;
    await expect(checkConfiguration(withoutKeys)).rejects.toThrow(
      /^API_KEYS: required outside the development profile/,
    );
    await expect(checkConfiguration({ ...withoutKeys, API_AUTH: 'none' })).resolves.toMatch(/API_AUTH +none +set/);
  });

  it('names every problem in one refusal: the codec keys, the API keys and each missing provider setting', async () => {
    const { TEMPORAL_CODEC_KEYS: _codec, API_KEYS: _keys, TWILIO_AUTH_TOKEN: _token, ...withoutAll } = environment;
    const refusal = await checkConfiguration(withoutAll).then(
      () => undefined,
      (error: unknown) => error as ConfigurationError,
    );
    expect(refusal).toBeInstanceOf(ConfigurationError);
    expect(refusal?.problems).toEqual([
      expect.stringMatching(/^API_KEYS: required outside the development profile/),
      expect.stringMatching(/^TEMPORAL_CODEC_KEYS: required/),
      expect.stringContaining('TWILIO_AUTH_TOKEN: required (twilio sends sms)'),
    ]);
    expect(refusal?.message).toMatch(
      /^3 configuration problems:\n- API_KEYS: .*\n- TEMPORAL_CODEC_KEYS: .*\n- .*TWILIO_AUTH_TOKEN/,
    );
  });

  it("refuses what the worker refuses, with the worker's message", async () => {
    const { TWILIO_AUTH_TOKEN: _, ...withoutToken } = environment;
    const boot = (() => {
      try {
        createChannelProviders(loadConfig(withoutToken));
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(boot).toContain('TWILIO_AUTH_TOKEN: required (twilio sends sms)');
    await expect(checkConfiguration(withoutToken)).rejects.toThrow(boot);
  });

  it('exits 1 with the message alone when the configuration is invalid, 0 with the report when it is valid', () => {
    const configurationPath = path.join(dir, 'mia.json');
    writeFileSync(
      configurationPath,
      JSON.stringify({ activeChannels: ['email'], flowManagerConfiguration: { successEventLable: 'sent' } }),
    );
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/check-config.ts'], {
        cwd: root,
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      });
    const invalid = run({ ...environment, CONFIGURATION_PATH: configurationPath });
    expect({ status: invalid.status, stderr: invalid.stderr.trim(), stdout: invalid.stdout }).toEqual({
      status: 1,
      stderr:
        'invalid configuration CONFIGURATION_PATH flowManagerConfiguration.successEventLable: unknown key (did you mean successEventLabel?)',
      stdout: '',
    });
    const valid = run(environment);
    expect(valid.status).toBe(0);
    expect(valid.stdout).toContain('Environment (MESSAGING_PROFILE=production');
  });
});
