import { generateKeyPairSync } from 'node:crypto';
import {
  PROVIDER_CHANNELS,
  PROVIDER_SETTINGS_SCHEMAS,
  PROVIDER_TYPES,
  type ProviderType,
} from '../../providers/provider-registry';
import { CHANNELS } from '../../common/config/config';
import {
  createProvider,
  ProviderHttpClient,
  ProviderSettingsError,
  type ProviderSpec,
} from '../../activities/providers';
import { PinpointSmsProvider } from '../../providers/pinpoint-provider';
import { SesProvider } from '../../providers/ses-provider';

const aws = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', region: 'ap-south-1' };
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const serviceAccount = {
  type: 'service_account',
  client_email: 'push@project.iam.gserviceaccount.com',
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};
const fcm = { baseUrl: 'https://fcm.googleapis.com', tokenUrl: 'https://oauth2.googleapis.com/token', projectId: 'p1' };

/** Settings each type accepts, as the registry or the configuration would give them. */
const GOOD: Record<ProviderType, Record<string, unknown>[]> = {
  smtp: [{ url: 'smtps://user:pass@mail.test:465' }],
  ses: [aws, { ...aws, projectId: '123456789012' }, { ...aws, endpoint: 'http://127.0.0.1:4010' }],
  twilio: [{ baseUrl: 'https://api.twilio.com', accountSid: 'AC1', authToken: 't' }],
  kaleyra: [{ baseUrl: 'https://api.kaleyra.io', apiKey: 'k', sid: 'S1' }],
  pinpoint: [aws, { ...aws, originationNumber: '+18005551234', entityId: '1101000000000000001' }],
  infobip: [
    { baseUrl: 'https://xyz.api.infobip.com', apiKey: 'k' },
    { apiBaseUrl: 'https://api.infobip.com', clientId: 'id', clientSecret: 'secret' },
    { baseUrl: 'https://xyz.api.infobip.com', clientId: 'id', clientSecret: 'secret' },
  ],
  fcm: [
    { ...fcm, credentialsPath: '/run/secrets/fcm.json' },
    { ...fcm, serviceAccount },
  ],
  'mia-sms-service': [{ baseUrl: 'http://sms-service' }],
};

/** Settings each type refuses, and the field the refusal must name. */
const BAD: [ProviderType, Record<string, unknown>, string][] = [
  ['smtp', { url: 'http://mail' }, 'url'],
  ['ses', { ...aws, accessKeyId: '' }, 'accessKeyId'],
  ['ses', { accessKeyId: 'AK', region: 'eu-west-1' }, 'secretAccessKey'],
  ['ses', { ...aws, region: 'Europe' }, 'region'],
  ['ses', { ...aws, endpoint: 'not a url' }, 'endpoint'],
  ['ses', { ...aws, accesskeyid: 'typo' }, 'accesskeyid'],
  ['twilio', { baseUrl: 'https://api.twilio.com', accountSid: 'AC1' }, 'authToken'],
  ['kaleyra', { baseUrl: 'https://api.kaleyra.io', apiKey: 'k' }, 'sid'],
  ['pinpoint', { ...aws, secretAccessKey: '' }, 'secretAccessKey'],
  ['pinpoint', { ...aws, entityId: '' }, 'entityId'],
  ['infobip', { apiBaseUrl: 'https://api.infobip.com', clientId: 'id' }, 'clientSecret'],
  ['infobip', { apiBaseUrl: 'https://api.infobip.com' }, 'apiKey'],
  ['infobip', { clientId: 'id', clientSecret: 'secret' }, 'baseUrl'],
  ['infobip', { apiBaseUrl: 'https //api infobip com', clientId: 'id', clientSecret: 's' }, 'apiBaseUrl'],
  ['infobip', { baseUrl: 'https://a.test', apiBaseUrl: 'https://b.test', apiKey: 'k' }, 'apiBaseUrl'],
  ['infobip', { baseUrl: 'https://a.test', apiKey: 'k', clientId: 'id', clientSecret: 's' }, 'clientId'],
  ['fcm', fcm, 'credentialsPath'],
  ['fcm', { ...fcm, credentialsPath: '/x.json', serviceAccount }, 'serviceAccount'],
  ['fcm', { ...fcm, serviceAccount: { client_email: 'x@y' } }, 'serviceAccount.private_key'],
  ['mia-sms-service', { baseUrl: 'sms-service' }, 'baseUrl'],
];

describe('provider settings (each module of providers/provider-registry.ts)', () => {
  it('has a schema and channels for every provider type, each channel one the service knows', () => {
    expect(Object.keys(PROVIDER_SETTINGS_SCHEMAS).sort()).toEqual([...PROVIDER_TYPES].sort());
    expect(Object.keys(PROVIDER_CHANNELS).sort()).toEqual([...PROVIDER_TYPES].sort());
    for (const channels of Object.values(PROVIDER_CHANNELS)) {
      expect(channels.length).toBeGreaterThan(0);
      for (const channel of channels) expect(CHANNELS).toContain(channel);
    }
  });

  it.each(PROVIDER_TYPES.flatMap((type) => GOOD[type].map((settings) => [type, settings] as const)))(
    'accepts %s settings %j',
    (type, settings) => {
      const parsed = PROVIDER_SETTINGS_SCHEMAS[type].safeParse(settings);
      expect(parsed.error?.issues ?? []).toEqual([]);
    },
  );

  it.each(BAD)('refuses %s settings %j, naming %s', (type, settings, field) => {
    const parsed = PROVIDER_SETTINGS_SCHEMAS[type].safeParse(settings);
    expect(parsed.success).toBe(false);
    const named = parsed.error!.issues.map((issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.'),
    );
    expect(named).toContain(field);
  });

  it('names every missing field of the OS1 infobip shape at once, never the secrets themselves', () => {
    const parsed = PROVIDER_SETTINGS_SCHEMAS.infobip.safeParse({ clientId: 'id', clientSecret: 'the-secret' });
    expect(parsed.error!.issues.map((issue) => issue.path.join('.'))).toEqual(['baseUrl']);
    expect(JSON.stringify(parsed.error!.issues)).not.toContain('the-secret');
  });
});

describe('createProvider builds every provider type', () => {
  const http = new ProviderHttpClient();
  afterAll(() => http.close());

  it('builds SES and Pinpoint SMS providers, each with an SDK client its close() destroys', async () => {
    const ses = createProvider({ providerType: 'ses', settings: aws }, { http });
    const pinpoint = createProvider({ providerType: 'pinpoint', settings: aws }, { http });
    expect(ses).toBeInstanceOf(SesProvider);
    expect(pinpoint).toBeInstanceOf(PinpointSmsProvider);
    ses.close();
    pinpoint.close();
  });

  it('builds FCM from a registered serviceAccount key, without a file', () => {
    expect(() => createProvider({ providerType: 'fcm', settings: { ...fcm, serviceAccount } }, { http })).not.toThrow();
  });

  it('refuses a serviceAccount whose private_key is no PEM key, naming the field and not the key', () => {
    const settings = { ...fcm, serviceAccount: { ...serviceAccount, private_key: 'not-a-key-secret-material' } };
    const build = () => createProvider({ providerType: 'fcm', settings }, { http });
    expect(build).toThrow(ProviderSettingsError);
    expect(build).toThrow(/^fcm settings: serviceAccount: has a private_key that is not a PEM private key/);
    expect(build).not.toThrow(/secret-material/);
  });

  it.each([
    ['ses', { ...aws, region: '' }, /^ses settings: region: /],
    ['pinpoint', { ...aws, accessKeyId: undefined }, /^pinpoint settings: accessKeyId: /],
    ['infobip', { apiBaseUrl: 'https://api.infobip.com', clientSecret: 's' }, /^infobip settings: clientId: /],
  ])('refuses bad %s settings with a ProviderSettingsError naming the field', (type, settings, message) => {
    const build = () => createProvider({ providerType: type, settings } as ProviderSpec, { http });
    expect(build).toThrow(ProviderSettingsError);
    expect(build).toThrow(message);
  });
});
