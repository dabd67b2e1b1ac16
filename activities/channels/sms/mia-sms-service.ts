import type { ProviderReceipt, SmsProvider, TextMessage } from '../channel-providers';
import { joinUrl, type ProviderHttpClient } from '../http-client';

/** Mia-Platform's SMS Service plugin, for users who already run it: `POST {SMS_SERVICE_URL}/send`. */
export class MiaSmsServiceProvider implements SmsProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly baseUrl: string,
  ) {}

  async sendSms({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    await this.http.call('mia-sms-service', joinUrl(this.baseUrl, '/send'), {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender: from, receiver: to, body }),
    });
    return {};
  }
}
