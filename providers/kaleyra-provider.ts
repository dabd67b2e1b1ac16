import type { KaleyraSettings } from '../../common/config/provider-settings';
import type { ProviderReceipt, SmsProvider, TextMessage, VoiceProvider } from './channel-interfaces';
import { codeAndMessageErrorReader, formBody, joinUrl, type ProviderHttpClient } from './http-client';

/** Kaleyra's error JSON: `{ code: 'E413', message, error: {...} }`. */
export const readKaleyraError = codeAndMessageErrorReader('KALEYRA');

/**
 * SMS through Kaleyra's messages API and voice through its outbound call API (a text-to-speech `target` read
 * to the callee): `POST /v1/{sid}/<resource>` with the `api-key` header and a form body.
 */
export class KaleyraProvider implements SmsProvider, VoiceProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly settings: KaleyraSettings,
  ) {}

  sendSms({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    return this.post('messages', { to, sender: from, body, type: 'TXN' });
  }

  call({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    return this.post('voice/outbound', { to, bridge: from, target: JSON.stringify([{ message: { text: body } }]) });
  }

  private async post(resource: string, fields: Record<string, string>): Promise<ProviderReceipt> {
    const { baseUrl, apiKey, sid } = this.settings;
    const response = await this.http.call(
      'kaleyra',
      joinUrl(baseUrl, `/v1/${encodeURIComponent(sid)}/${resource}`),
      {
        headers: { 'api-key': apiKey, 'content-type': 'application/x-www-form-urlencoded' },
        body: formBody(fields),
      },
      readKaleyraError,
    );
    const json = response.json<{ id?: string; data?: { message_id?: string }[] }>();
    return { providerMessageId: json?.data?.[0]?.message_id ?? json?.id };
  }
}
