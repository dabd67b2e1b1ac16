import type { MiaSmsServiceSettings } from '../../common/config/provider-settings';
import type { ProviderReceipt, SmsProvider, TextMessage } from './channel-interfaces';
import { joinUrl, type ProviderHttpClient } from './http-client';

/** Mia-Platform's SMS Service plugin, for users who already run it: `POST {baseUrl}/send`. */
export class MiaSmsServiceProvider implements SmsProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly settings: MiaSmsServiceSettings,
  ) {}

  async sendSms({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    await this.http.call('mia-sms-service', joinUrl(this.settings.baseUrl, '/send'), {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender: from, receiver: to, body }),
    });
    return {};
  }
}
