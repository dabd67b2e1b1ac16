import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError, type AppConfig } from '../../common/config/config';
import { parseEnvironment, parseServiceConfig } from '../../providers/service-configuration';
import {
  parseRetryAfter,
  PermanentProviderError,
  providerErrorForStatus,
  TransientProviderError,
} from '../../common/domain/http-errors';
import {
  createChannelProviders,
  createProvider,
  providerSettingsFromConfig,
  ProviderSettingsError,
  type ProviderHttpClient,
  type ProviderSpec,
  type SmsProvider,
  type VoiceProvider,
} from '../../activities/providers';
import { FcmProvider, readFcmError } from '../../providers/fcm-provider';
import type { ProviderRequest } from '../../providers/http-client';
import { readInfobipError } from '../../providers/infobip-oauth';
import { readKaleyraError } from '../../providers/kaleyra-provider';
import { classifySmtpError } from '../../providers/smtp-provider';
import { readTwilioError, TwilioProvider } from '../../providers/twilio-provider';
import { MiaSmsServiceProvider } from '../../providers/mia-sms-service-provider';
import { ensureFcmServiceAccount } from '../../scripts/local-stack';

const twilioSettings = { baseUrl: 'https://api.twilio.test/', accountSid: 'AC123', authToken: 'secret' };

/** An HTTP client that records requests and answers 201 with `answer`, so providers run without a server. */
function recordingHttp(answer: unknown = { sid: 'SM1' }) {
  const requests: { provider: string; url: string; init: ProviderRequest }[] = [];
  const http = {
    async call(provider: string, url: string, init: ProviderRequest) {
      requests.push({ provider, url, init });
      return { status: 201, headers: {}, body: Buffer.from(JSON.stringify(answer)), json: () => answer };
    },
    async close() {},
  } as unknown as ProviderHttpClient;
  return { http, requests };
}

function configWith(
  providers: Record<string, string>,
  environment: Record<string, string> = { MESSAGING_PROFILE: 'development' },
  activeChannels = ['sms'],
): AppConfig {
  return {
    env: parseEnvironment(environment),
    service: parseServiceConfig(JSON.stringify({ activeChannels, providers }), 'test'),
  };
}

describe('providerErrorForStatus', () => {
  it('makes a 429 a throttled transient error carrying Retry-After', () => {
    const error = providerErrorForStatus('twilio', 429, 'Too Many Requests', 'TWILIO_20429', 2000);
    expect(error).toBeInstanceOf(TransientProviderError);
    expect(error).toMatchObject({ code: 'TWILIO_20429', retryAfterMs: 2000, throttled: true });
    expect(error.message).toBe('twilio answered 429: Too Many Requests');
  });

  it.each([408, 500, 502, 503])(
    'makes %i transient, not throttled, HTTP_<status> without a provider code',
    (status) => {
      const error = providerErrorForStatus('kaleyra', status, 'busy');
      expect(error).toBeInstanceOf(TransientProviderError);
      expect(error).toMatchObject({ code: `HTTP_${status}`, throttled: false });
    },
  );

  it.each([400, 401, 403, 404, 413, 422])('makes %i permanent with the provider code', (status) => {
    const error = providerErrorForStatus('twilio', status, 'invalid number', 'TWILIO_21211');
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.code).toBe('TWILIO_21211');
  });

  it('falls back to HTTP_<status> and cuts long messages at 500 characters', () => {
    const error = providerErrorForStatus('fcm', 400, 'x'.repeat(1000));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.code).toBe('HTTP_400');
    expect(error.message).toHaveLength(500);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    ['2', 2000],
    ['0', 0],
    ['1.5', 1500],
    ['-3', 0],
  ])('reads %j seconds as %i ms', (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });

  it('reads an HTTP date as the time until it, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it.each([[undefined], [''], ['soon'], [[]]])('ignores %j', (header) => {
    expect(parseRetryAfter(header, now)).toBeUndefined();
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '9'], now)).toBe(3000);
  });
});

describe('provider error bodies', () => {
  it('reads Twilio codes, including 0, and messages', () => {
    expect(readTwilioError({ code: 21211, message: 'not a valid phone number', status: 400 })).toEqual({
      code: 'TWILIO_21211',
      detail: 'not a valid phone number',
    });
    expect(readTwilioError({ code: 0 }).code).toBe('TWILIO_0');
  });

  it('reads Kaleyra codes', () => {
    expect(readKaleyraError({ code: 'E413', message: 'Invalid number', error: {} })).toEqual({
      code: 'KALEYRA_E413',
      detail: 'Invalid number',
    });
  });

  it('takes as a code a number or a non-empty string, whichever provider it is', () => {
    expect(readKaleyraError({ code: 0 }).code).toBe('KALEYRA_0');
    expect(readTwilioError({ code: 'E413' }).code).toBe('TWILIO_E413');
    for (const code of [null, '', false, {}]) {
      expect(readTwilioError({ code, message: 'm' })).toEqual({ code: undefined, detail: 'm' });
      expect(readKaleyraError({ code, message: 'm' })).toEqual({ code: undefined, detail: 'm' });
    }
  });

  it('prefers the FCM errorCode of details over the status', () => {
    const body = {
      error: {
        status: 'NOT_FOUND',
        message: 'Requested entity was not found.',
        details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError' }, { errorCode: 'UNREGISTERED' }],
      },
    };
    expect(readFcmError(body)).toEqual({ code: 'FCM_UNREGISTERED', detail: 'Requested entity was not found.' });
    expect(readFcmError({ error: { status: 'UNAUTHENTICATED', message: 'bad token' } }).code).toBe(
      'FCM_UNAUTHENTICATED',
    );
  });

  it('reads Infobip service exceptions', () => {
    const body = { requestError: { serviceException: { messageId: 'UNAUTHORIZED', text: 'Invalid login details' } } };
    expect(readInfobipError(body)).toEqual({ code: 'INFOBIP_UNAUTHORIZED', detail: 'Invalid login details' });
  });

  it.each([
    ['Twilio', readTwilioError],
    ['Kaleyra', readKaleyraError],
    ['FCM', readFcmError],
    ['Infobip', readInfobipError],
  ])('gives no %s code for a body that is not its error JSON', (_, read) => {
    for (const body of [undefined, 'Bad Gateway', {}, { unrelated: true }]) {
      expect(read(body).code).toBeUndefined();
    }
  });
});

describe('classifySmtpError', () => {
  it('makes an SMTP 4xx reply transient', () => {
    const error = classifySmtpError(Object.assign(new Error('Mailbox busy'), { responseCode: 450 }));
    expect(error).toBeInstanceOf(TransientProviderError);
    expect(error).toMatchObject({ code: 'SMTP_450', message: 'smtp: Mailbox busy' });
  });

  it('makes an SMTP 5xx reply permanent', () => {
    const error = classifySmtpError(Object.assign(new Error('No such user'), { responseCode: 550 }));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.code).toBe('SMTP_550');
  });

  it('makes a failure without a reply transient with the connection code', () => {
    expect(classifySmtpError(Object.assign(new Error('refused'), { code: 'ECONNECTION' }))).toMatchObject({
      name: 'TransientProviderError',
      code: 'ECONNECTION',
    });
    expect(classifySmtpError(new Error('?')).code).toBe('SMTP_ERROR');
  });
});

describe('createProvider', () => {
  it('builds one Twilio object that sends sms through Messages and calls through Calls with <Say>', async () => {
    const { http, requests } = recordingHttp();
    const twilio = createProvider({ providerType: 'twilio', settings: twilioSettings }, { http });
    const sms: SmsProvider = twilio;
    const voice: VoiceProvider = twilio;
    expect(twilio).toBeInstanceOf(TwilioProvider);

    await expect(sms.sendSms({ from: '+1500', to: '+39333', body: 'Hi' })).resolves.toEqual({
      providerMessageId: 'SM1',
    });
    await voice.call({ from: '+1500', to: '+39333', body: 'Tom & "Jerry" <3' });

    expect(requests.map(({ provider, url }) => [provider, url])).toEqual([
      ['twilio', 'https://api.twilio.test/2010-04-01/Accounts/AC123/Messages.json'],
      ['twilio', 'https://api.twilio.test/2010-04-01/Accounts/AC123/Calls.json'],
    ]);
    expect(requests[0].init.headers?.authorization).toBe(`Basic ${Buffer.from('AC123:secret').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(String(requests[0].init.body)))).toEqual({
      To: '+39333',
      From: '+1500',
      Body: 'Hi',
    });
    expect(new URLSearchParams(String(requests[1].init.body)).get('Twiml')).toBe(
      '<Response><Say>Tom &amp; &quot;Jerry&quot; &lt;3</Say></Response>',
    );
  });

  it.each([
    [{ ...twilioSettings, accountSid: '' }, /^twilio settings: accountSid: /],
    [{ ...twilioSettings, baseUrl: 'not a url' }, /^twilio settings: baseUrl: /],
    [{ baseUrl: twilioSettings.baseUrl, accountSid: 'AC123' }, /^twilio settings: authToken: /],
    [{ ...twilioSettings, authtoken: 'typo' }, /^twilio settings: .*authtoken/],
  ])('refuses bad Twilio settings %j, naming the field', (settings, message) => {
    const { http } = recordingHttp();
    const build = () => createProvider({ providerType: 'twilio', settings } as ProviderSpec, { http });
    expect(build).toThrow(ProviderSettingsError);
    expect(build).toThrow(message);
  });

  it.each([
    { providerType: 'kaleyra', settings: { baseUrl: 'https://api.kaleyra.test', apiKey: 'k', sid: 'S1', sender: 'x' } },
    { providerType: 'infobip', settings: { baseUrl: 'https://x.api.infobip.test', apiKey: 'k', sender: 'x' } },
  ])('refuses a field $providerType does not know', (spec) => {
    const { http } = recordingHttp();
    expect(() => createProvider(spec as ProviderSpec, { http })).toThrow(`${spec.providerType} settings: `);
    expect(() => createProvider(spec as ProviderSpec, { http })).toThrow(/sender/);
  });

  it('refuses an smtp URL that is not smtp:// or smtps://', () => {
    const { http } = recordingHttp();
    expect(() => createProvider({ providerType: 'smtp', settings: { url: 'http://mail' } }, { http })).toThrow(
      'smtp settings: url: must be an smtp:// or smtps:// URL',
    );
  });

  it('refuses an unknown provider type', () => {
    const { http } = recordingHttp();
    const spec = { providerType: 'sendgrid', settings: {} } as unknown as ProviderSpec;
    expect(() => createProvider(spec, { http })).toThrow(/^unknown provider type "sendgrid"/);
    const inherited = { providerType: 'toString', settings: {} } as unknown as ProviderSpec;
    expect(() => createProvider(inherited, { http })).toThrow(ProviderSettingsError);
  });
});

describe('providers from configuration', () => {
  it('maps the environment to one spec per provider type an active channel uses', () => {
    const config = configWith(
      { sms: 'twilio', voice: 'twilio' },
      { MESSAGING_PROFILE: 'development', TWILIO_ACCOUNT_SID: 'ACenv', SMTP_URL: 'smtps://mail.test:465' },
      ['sms', 'voice', 'email'],
    );
    const specs = providerSettingsFromConfig(config);
    expect(specs.map((spec) => spec.providerType).sort()).toEqual(['smtp', 'twilio']);
    expect(specs).toContainEqual({
      providerType: 'twilio',
      settings: { baseUrl: 'http://127.0.0.1:4010', accountSid: 'ACenv', authToken: 'simulator-token' },
    });
    expect(specs).toContainEqual({ providerType: 'smtp', settings: { url: 'smtps://mail.test:465' } });
  });

  it('gives sms and voice the same Twilio instance, and closes what it opened', async () => {
    const providers = createChannelProviders(
      configWith({ sms: 'twilio', voice: 'twilio' }, { MESSAGING_PROFILE: 'development' }, ['sms', 'voice']),
    );
    expect(providers.sms).toBeInstanceOf(TwilioProvider);
    expect(providers.voice).toBe(providers.sms);
    await expect(providers.close()).resolves.toBeUndefined();
  });

  it('refuses mia-sms-service without SMS_SERVICE_URL, in the development profile too', () => {
    expect(() => createChannelProviders(configWith({ sms: 'mia-sms-service' }))).toThrow(
      'SMS_SERVICE_URL: required (mia-sms-service sends sms)',
    );
  });

  it('builds mia-sms-service from SMS_SERVICE_URL', async () => {
    const config = configWith({ sms: 'mia-sms-service' }, { SMS_SERVICE_URL: 'http://sms-service.test' });
    expect(providerSettingsFromConfig(config)).toContainEqual({
      providerType: 'mia-sms-service',
      settings: { baseUrl: 'http://sms-service.test' },
    });
    const providers = createChannelProviders(config);
    expect(providers.sms).toBeInstanceOf(MiaSmsServiceProvider);
    await providers.close();
  });
});

describe('the worker refuses to boot without the settings of an active channel (docs/configuration.md)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'provider-settings-'));
  const write = (name: string, content: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  const fcmKey = ensureFcmServiceAccount(path.join(dir, 'fcm.json'));
  const twilio = { TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 'token' };
  const boot = (environment: Record<string, string>, activeChannels: string[], providers = {}) =>
    createChannelProviders(configWith(providers, environment, activeChannels));

  it.each([
    [{ TWILIO_ACCOUNT_SID: 'AC1' }, 'TWILIO_AUTH_TOKEN: required (twilio sends sms, voice)'],
    [{ TWILIO_AUTH_TOKEN: 'token' }, 'TWILIO_ACCOUNT_SID: required (twilio sends sms, voice)'],
    [{ ...twilio, TWILIO_BASE_URL: 'api.twilio.com' }, 'TWILIO_BASE_URL: Invalid URL (twilio sends sms, voice)'],
  ])('names the variable missing or malformed in %j', (environment, message) => {
    const start = () => boot(environment, ['sms', 'voice'], { sms: 'twilio', voice: 'twilio' });
    expect(start).toThrow(ConfigurationError);
    expect(start).toThrow(message);
  });

  it('names every missing variable at once, and says the simulator is only a development default', () => {
    expect(() => boot({}, ['email', 'whatsapp'])).toThrow(
      'invalid environment for the active channels: SMTP_URL: required (smtp sends email); ' +
        'INFOBIP_BASE_URL: required (infobip sends whatsapp); INFOBIP_API_KEY: required (infobip sends whatsapp) ' +
        "(no provider credential has a default; MESSAGING_PROFILE=development gives the simulator's)",
    );
  });

  it('needs nothing for an inactive channel, whose provider refuses every message for good', async () => {
    const providers = boot({ SMTP_URL: 'smtp://mail.example:587' }, ['email']);
    await expect(providers.sms.sendSms({ from: '+1', to: '+2', body: 'x' })).rejects.toMatchObject({
      constructor: PermanentProviderError,
      code: 'CHANNEL_INACTIVE',
    });
    await expect(providers.push.sendPush({ token: 't', title: 't', body: 'b' })).rejects.toThrow(
      'push is not in activeChannels',
    );
    await providers.close();
  });

  it('takes the public endpoints as base URLs outside the development profile', () => {
    const specs = providerSettingsFromConfig(configWith({}, twilio, ['sms']));
    expect(specs).toEqual([
      {
        providerType: 'twilio',
        settings: { baseUrl: 'https://api.twilio.com', ...{ accountSid: 'AC1', authToken: 'token' } },
      },
    ]);
  });

  it('builds every provider from the development profile alone (but the FCM key, which npm run dev writes)', async () => {
    const providers = boot({ MESSAGING_PROFILE: 'development', FCM_CREDENTIALS_PATH: fcmKey }, [
      'email',
      'sms',
      'push',
      'voice',
      'whatsapp',
    ]);
    expect(providers.push).toBeInstanceOf(FcmProvider);
    await providers.close();
  });

  describe('reads the FCM service account at boot, when push is active', () => {
    const fcm = (credentialsPath: string, activeChannels = ['push']) =>
      boot({ MESSAGING_PROFILE: 'development', FCM_CREDENTIALS_PATH: credentialsPath }, activeChannels);

    it.each([
      ['missing', path.join(dir, 'absent.json'), /FCM_CREDENTIALS_PATH: \S+absent\.json cannot be read: ENOENT/],
      ['not JSON', write('not-json.json', 'nope'), /not-json\.json is not a service-account JSON key/],
      ['without client_email', write('no-email.json', '{"private_key":"x"}'), /no-email\.json has no client_email/],
      [
        'without private_key',
        write('no-key.json', '{"client_email":"a@b.iam.gserviceaccount.com"}'),
        /no-key\.json has no private_key/,
      ],
      [
        'with a private_key that is no PEM key',
        write(
          'bad-key.json',
          JSON.stringify({ client_email: 'a@b', private_key: '-----BEGIN PRIVATE KEY-----\nnope' }),
        ),
        /bad-key\.json has a private_key that is not a PEM private key/,
      ],
    ])('refuses a file %s, naming FCM_CREDENTIALS_PATH', (_case, file, message) => {
      expect(() => fcm(file)).toThrow(ConfigurationError);
      expect(() => fcm(file)).toThrow(message);
    });

    it('reads nothing when push is not active', async () => {
      await fcm(path.join(dir, 'absent.json'), ['sms']).close();
    });
  });
});
