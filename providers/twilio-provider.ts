import type { z } from 'zod';
import type { ProviderReceipt, SmsProvider, TextMessage, VoiceProvider } from './channel-interfaces';
import { basicAuth, codeAndMessageErrorReader, formBody, joinUrl, type ProviderHttpClient } from './http-client';
import { defineProvider, httpProviderSettingsSchema, nonEmpty, SIMULATOR_URL } from './provider-module';

/**
 * What a Twilio account needs; from `TWILIO_*` in configuration. `baseUrl` is the base of Twilio's REST API:
 * `https://api.twilio.com` in production, the simulator locally.
 */
export const twilioSettingsSchema = httpProviderSettingsSchema
  .extend({
    /** Account SID: the account of every resource and the basic-auth user. */
    accountSid: nonEmpty,
    /** Auth token: the basic-auth password, and the key Twilio signs its status callbacks with. */
    authToken: nonEmpty,
  })
  .describe('{baseUrl, accountSid, authToken}');
export type TwilioSettings = z.infer<typeof twilioSettingsSchema>;

/** Twilio's error JSON: `{ code: 21211, message, more_info, status }`. */
export const readTwilioError = codeAndMessageErrorReader('TWILIO');

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * SMS through Twilio's Messages API and voice through its Calls API, where the message is read by `<Say>` in
 * inline TwiML. Both are account-scoped resources (`/2010-04-01/Accounts/{sid}/...`) with basic auth, so one
 * instance serves both channels.
 */
export class TwilioProvider implements SmsProvider, VoiceProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly settings: TwilioSettings,
  ) {}

  /** With a `statusCallbackUrl`, Twilio posts the message's status changes there (`StatusCallback`), signed. */
  sendSms({ from, to, body, statusCallbackUrl }: TextMessage): Promise<ProviderReceipt> {
    return this.create('Messages', {
      To: to,
      From: from,
      Body: body,
      ...(statusCallbackUrl ? { StatusCallback: statusCallbackUrl } : {}),
    });
  }

  call({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    const text = body.replace(/[&<>"']/g, (char) => XML_ESCAPES[char]);
    return this.create('Calls', { To: to, From: from, Twiml: `<Response><Say>${text}</Say></Response>` });
  }

  private async create(resource: 'Messages' | 'Calls', fields: Record<string, string>): Promise<ProviderReceipt> {
    const { baseUrl, accountSid, authToken } = this.settings;
    const url = joinUrl(baseUrl, `/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/${resource}.json`);
    const response = await this.http.call(
      'twilio',
      url,
      {
        headers: {
          authorization: basicAuth(accountSid, authToken),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: formBody(fields),
      },
      readTwilioError,
    );
    return { providerMessageId: response.json<{ sid?: string }>()?.sid };
  }
}

export const twilioProvider = defineProvider({
  type: 'twilio',
  channels: ['sms', 'voice'],
  settingsSchema: twilioSettingsSchema,
  environment: { baseUrl: 'TWILIO_BASE_URL', accountSid: 'TWILIO_ACCOUNT_SID', authToken: 'TWILIO_AUTH_TOKEN' },
  defaultFor: ['sms'],
  profileDefaults: {
    production: { baseUrl: 'https://api.twilio.com' },
    development: { baseUrl: SIMULATOR_URL, accountSid: 'ACsimulator', authToken: 'simulator-token' },
  },
  urlSettings: ['baseUrl'],
  publicHosts: ['api.twilio.com', '*.twilio.com'],
  errorReader: { answerBody: readTwilioError },
  build: (settings, { http }) => new TwilioProvider(http, settings),
});
