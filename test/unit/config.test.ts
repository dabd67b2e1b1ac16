import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError } from '../../common/config/config';
import { loadConfig, parseEnvironment, parseServiceConfig } from '../../providers/service-configuration';

const dir = mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
const write = (name: string, content: unknown) => {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

describe('configuration (docs/configuration.md)', () => {
  it('loads the shipped default configuration with defaults for every variable', () => {
    const config = loadConfig({ CONFIGURATION_PATH: 'config/default.json' });
    expect(config.env.HTTP_PORT).toBe(3000);
    expect(config.env.TEMPORAL_TASK_QUEUE).toBe('messaging');
    expect(config.env.FILE_SERVICE_URL).toBeUndefined();
    expect(config.service.activeChannels).toContain('email');
  });

  it('keeps the Mia shape with renamed user fields', () => {
    const service = parseServiceConfig(
      JSON.stringify({ activeChannels: ['sms'], userFields: { phoneNumber: 'phone', clusters: 'groups' } }),
      'test',
    );
    expect(service.userFields).toEqual({
      id: '_id',
      emailAddress: 'emailAddress',
      phoneNumber: 'phone',
      deviceToken: 'deviceToken',
      clusters: 'groups',
      timezone: 'timezone',
    });
    expect(service.providers.sms).toBe('twilio');
    expect(service.defaultTimezone).toBe('UTC');
  });

  it('takes an IANA defaultTimezone and refuses an unknown one', () => {
    const parse = (defaultTimezone: string) =>
      parseServiceConfig(JSON.stringify({ activeChannels: ['sms'], defaultTimezone }), 'test');
    expect(parse('Europe/Rome').defaultTimezone).toBe('Europe/Rome');
    expect(() => parse('Mars/Olympus')).toThrow(/defaultTimezone/);
  });

  it.each([
    [{ HTTP_PORT: 'eighty' }, /HTTP_PORT/],
    [{ MONGODB_URL: 'postgres://x' }, /MONGODB_URL/],
    [{ MESSAGING_PROFILE: 'staging' }, /MESSAGING_PROFILE/],
    [{ FILE_SERVICE_URL: 'not a url' }, /FILE_SERVICE_URL/],
    [{ CODEC_CORS_ORIGINS: 'http://ui.example.com/namespaces' }, /CODEC_CORS_ORIGINS\.0: must be an origin/],
    [{ CONFIGURATION_PATH: '/nonexistent/config.json' }, /CONFIGURATION_PATH/],
  ])('names the bad variable %j', (env, pattern) => {
    expect(() => loadConfig({ CONFIGURATION_PATH: 'config/default.json', ...env })).toThrow(ConfigurationError);
    expect(() => loadConfig({ CONFIGURATION_PATH: 'config/default.json', ...env })).toThrow(pattern);
  });

  it.each([
    [{}, /activeChannels/],
    [{ activeChannels: ['fax'] }, /activeChannels\.0/],
    [{ activeChannels: ['sms'], providers: { sms: 'carrier-pigeon' } }, /providers\.sms/],
    [{ activeChannels: ['sms'], sender: { email: 'not-an-address' } }, /sender\.email/],
  ])('names the bad JSON path in %j', (json, pattern) => {
    const file = write(`c${Math.random()}.json`, json);
    expect(() => loadConfig({ CONFIGURATION_PATH: file })).toThrow(pattern);
  });

  it('names the problems of the environment and of the configuration file in one refusal', () => {
    const file = write('both.json', { activeChannels: ['fax'] });
    expect(() => loadConfig({ CONFIGURATION_PATH: file, HTTP_PORT: 'eighty' })).toThrow(
      /^2 configuration problems:\n- invalid environment HTTP_PORT: .*\n- invalid configuration CONFIGURATION_PATH activeChannels\.0: /,
    );
  });

  it('refuses a configuration file that is not JSON', () => {
    expect(() => loadConfig({ CONFIGURATION_PATH: write('broken.json', '{ nope') })).toThrow(/not valid JSON/);
  });

  it('treats empty variables as unset', () => {
    expect(
      loadConfig({ CONFIGURATION_PATH: 'config/default.json', FILE_SERVICE_URL: '' }).env.FILE_SERVICE_URL,
    ).toBeUndefined();
  });
});

describe('MESSAGING_PROFILE (docs/configuration.md)', () => {
  it('production, the default, fills in only the public endpoints: no credential, no SMTP server, no simulator', () => {
    const env = parseEnvironment({});
    expect(env.MESSAGING_PROFILE).toBe('production');
    expect(env).toMatchObject({
      TWILIO_BASE_URL: 'https://api.twilio.com',
      KALEYRA_BASE_URL: 'https://api.kaleyra.io',
      FCM_BASE_URL: 'https://fcm.googleapis.com',
      FCM_TOKEN_URL: 'https://oauth2.googleapis.com/token',
    });
    for (const name of [
      'SMTP_URL',
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'KALEYRA_API_KEY',
      'KALEYRA_SID',
      'FCM_PROJECT_ID',
      'FCM_CREDENTIALS_PATH',
      'INFOBIP_BASE_URL',
      'INFOBIP_API_KEY',
    ] as const)
      expect({ [name]: env[name] }).toEqual({ [name]: undefined });
    expect(JSON.stringify(env)).not.toContain('127.0.0.1:4010');
  });

  it('development points every provider setting left unset at the simulator, with its credentials', () => {
    const env = parseEnvironment({ MESSAGING_PROFILE: 'development' });
    expect(env).toMatchObject({
      SMTP_URL: 'smtp://127.0.0.1:2525',
      TWILIO_BASE_URL: 'http://127.0.0.1:4010',
      TWILIO_ACCOUNT_SID: 'ACsimulator',
      TWILIO_AUTH_TOKEN: 'simulator-token',
      KALEYRA_BASE_URL: 'http://127.0.0.1:4010',
      FCM_TOKEN_URL: 'http://127.0.0.1:4010/token',
      FCM_CREDENTIALS_PATH: '.data/fcm-service-account.json',
      INFOBIP_BASE_URL: 'http://127.0.0.1:4010',
      INFOBIP_API_KEY: 'simulator-key',
    });
  });

  it('keeps a setting of yours over the profile; an empty one counts as unset', () => {
    const env = parseEnvironment({ MESSAGING_PROFILE: 'development', TWILIO_AUTH_TOKEN: 'mine', SMTP_URL: '' });
    expect(env.TWILIO_AUTH_TOKEN).toBe('mine');
    expect(env.SMTP_URL).toBe('smtp://127.0.0.1:2525');
    expect(parseEnvironment({ TWILIO_BASE_URL: 'https://twilio.proxy.example' }).TWILIO_BASE_URL).toBe(
      'https://twilio.proxy.example',
    );
  });
});

describe('the JSON configuration is strict (docs/configuration.md)', () => {
  const parse = (json: unknown) =>
    parseServiceConfig(JSON.stringify({ activeChannels: ['sms'], ...(json as object) }), 'test');
  const flowManager = (labels: Record<string, string>) =>
    parse({ flowManagerConfiguration: { serviceUrl: 'http://flow-manager', ...labels } }).flowManagerConfiguration;

  it.each([
    [{ activeChanels: ['sms'] }, 'activeChanels: unknown key (did you mean activeChannels?)'],
    [{ userFields: { phonenumber: 'phone' } }, 'userFields.phonenumber: unknown key (did you mean phoneNumber?)'],
    [{ fanOut: { pageSise: 10 } }, 'fanOut.pageSise: unknown key (did you mean pageSize?)'],
    [{ rateLimits: { sm: { perSecond: 1 } } }, 'rateLimits.sm: unknown key (did you mean sms?)'],
    [{ rateLimits: { sms: { perSecnd: 1 } } }, 'rateLimits.sms.perSecnd: unknown key (did you mean perSecond?)'],
    [
      { flowManagerConfiguration: { metadataSchema: { channels: 'c', templateID: 't' } } },
      'flowManagerConfiguration.metadataSchema.templateID: unknown key (did you mean templateId?)',
    ],
    [{ kafka: {} }, 'kafka: unknown key (known: activeChannels, userFields, sender,'],
  ])('refuses the unknown key of %j, naming it and the nearest known key', (json, message) => {
    expect(() => parse(json)).toThrow(ConfigurationError);
    expect(() => parse(json)).toThrow(message);
  });

  it('refuses a perSecond below 1 (it would grant no call at all), naming the field', () => {
    expect(() => parse({ rateLimits: { sms: { perSecond: 0.5 } } })).toThrow(ConfigurationError);
    expect(() => parse({ rateLimits: { sms: { perSecond: 0.5 } } })).toThrow('rateLimits.sms.perSecond');
    expect(parse({ rateLimits: { sms: { perSecond: 1 } } }).rateLimits.sms).toEqual({ perSecond: 1 });
  });

  it('caps Retry-After waits by default: 30 s in a dispatch, an hour at most', () => {
    expect(parse({}).retryAfter).toEqual({ capMs: 30_000, maxMs: 3_600_000 });
  });

  it("suggests the label for a misspelling that is not one of Mia's", () => {
    expect(() => flowManager({ successEventlabl: 'sent' })).toThrow(
      'test flowManagerConfiguration.successEventlabl: unknown key (did you mean successEventLabel?)',
    );
  });

  it("accepts Mia's own spellings successEventlabel and failEventlabel as the labels", () => {
    expect(flowManager({ successEventlabel: 'sent', failEventlabel: 'failed' })).toMatchObject({
      successEventLabel: 'sent',
      failEventLabel: 'failed',
    });
    expect(flowManager({ successEventlabel: 'sent' })).not.toHaveProperty('successEventlabel');
  });

  it('takes eventsWhen "started" or "finished" only, naming the field otherwise', () => {
    expect(flowManager({ eventsWhen: 'finished' })?.eventsWhen).toBe('finished');
    expect(flowManager({})?.eventsWhen).toBeUndefined();
    expect(() => flowManager({ eventsWhen: 'ended' })).toThrow(ConfigurationError);
    expect(() => flowManager({ eventsWhen: 'ended' })).toThrow('flowManagerConfiguration.eventsWhen');
  });

  it('refuses a label given in both spellings', () => {
    expect(() => flowManager({ successEventLabel: 'a', successEventlabel: 'b' })).toThrow(
      'flowManagerConfiguration.successEventlabel: alias of successEventLabel, which is given too',
    );
  });
});
