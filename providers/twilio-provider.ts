import type { TwilioSettings } from '../../common/config/provider-settings';
import type { ProviderReceipt, SmsProvider, TextMessage, VoiceProvider } from './channel-interfaces';
import { basicAuth, codeAndMessageErrorReader, formBody, joinUrl, type ProviderHttpClient } from './http-client';

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
