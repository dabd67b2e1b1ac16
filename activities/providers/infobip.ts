import type { InfobipSettings } from '../../common/provider-settings';
import type { ProviderReceipt, TextMessage, WhatsappProvider } from './channel-interfaces';
import { joinUrl, type ProviderHttpClient } from './http-client';

/** Infobip's error JSON: `{ requestError: { serviceException: { messageId, text } } }`. */
export const readInfobipError = (body: unknown) => {
  const error = (body as { requestError?: { serviceException?: { messageId?: string; text?: string } } })?.requestError
    ?.serviceException;
  return { code: error?.messageId ? `INFOBIP_${error.messageId}` : undefined, detail: error?.text };
};

/** WhatsApp text messages through Infobip (`POST /whatsapp/1/message/text`, `Authorization: App <key>`). */
export class InfobipProvider implements WhatsappProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly settings: InfobipSettings,
  ) {}

  async sendWhatsapp({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    const response = await this.http.call(
      'infobip',
      joinUrl(this.settings.baseUrl ?? this.settings.apiBaseUrl ?? '', '/whatsapp/1/message/text'),
      {
        headers: { authorization: `App ${this.settings.apiKey ?? ''}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from, to, content: { text: body } }),
      },
      readInfobipError,
    );
    return { providerMessageId: response.json<{ messageId?: string }>()?.messageId };
  }
}
