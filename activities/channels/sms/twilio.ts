import type { Env } from '../../../common/config';
import type { ProviderReceipt, SmsProvider, TextMessage } from '../channel-providers';
import { basicAuth, formBody, joinUrl, type ProviderHttpClient } from '../http-client';

/** Twilio's error JSON: `{ code, message, more_info, status }`. */
export const readTwilioError = (body: unknown) => {
  const error = body as { code?: number; message?: string } | undefined;
  return { code: error?.code !== undefined ? `TWILIO_${error.code}` : undefined, detail: error?.message };
};

/** Twilio REST API, account-scoped resources (`/2010-04-01/Accounts/{sid}/...`) with basic auth. */
export class TwilioClient {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly env: Pick<Env, 'TWILIO_BASE_URL' | 'TWILIO_ACCOUNT_SID' | 'TWILIO_AUTH_TOKEN'>,
  ) {}

  async create(resource: 'Messages' | 'Calls', fields: Record<string, string>): Promise<ProviderReceipt> {
    const sid = this.env.TWILIO_ACCOUNT_SID;
    const url = joinUrl(this.env.TWILIO_BASE_URL, `/2010-04-01/Accounts/${encodeURIComponent(sid)}/${resource}.json`);
    const response = await this.http.call(
      'twilio',
      url,
      {
        headers: {
          authorization: basicAuth(sid, this.env.TWILIO_AUTH_TOKEN),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: formBody(fields),
      },
      readTwilioError,
    );
    return { providerMessageId: response.json<{ sid?: string }>()?.sid };
  }
}

/** SMS through Twilio's Messages API. */
export class TwilioSmsProvider implements SmsProvider {
  constructor(private readonly twilio: TwilioClient) {}

  sendSms({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    return this.twilio.create('Messages', { To: to, From: from, Body: body });
  }
}
