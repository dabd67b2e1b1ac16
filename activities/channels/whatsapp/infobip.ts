import type { Env } from '../../../common/config';
import type { ProviderReceipt, TextMessage, WhatsappProvider } from '../channel-providers';
import { joinUrl, type ProviderHttpClient } from '../http-client';

const readInfobipError = (body: unknown) => {
  const error = (body as { requestError?: { serviceException?: { messageId?: string; text?: string } } })?.requestError
    ?.serviceException;
  return { code: error?.messageId ? `INFOBIP_${error.messageId}` : undefined, detail: error?.text };
};

/** WhatsApp text messages through Infobip (`POST /whatsapp/1/message/text`, `Authorization: App <key>`). */
export class InfobipWhatsappProvider implements WhatsappProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly env: Pick<Env, 'INFOBIP_BASE_URL' | 'INFOBIP_API_KEY'>,
  ) {}

  async sendWhatsapp({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    const response = await this.http.call(
      'infobip',
      joinUrl(this.env.INFOBIP_BASE_URL, '/whatsapp/1/message/text'),
      {
        headers: { authorization: `App ${this.env.INFOBIP_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from, to, content: { text: body } }),
      },
      readInfobipError,
    );
    return { providerMessageId: response.json<{ messageId?: string }>()?.messageId };
  }
}
