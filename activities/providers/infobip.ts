import { z } from 'zod';
import type { ProviderReceipt, TextMessage, WhatsappProvider } from './channel-interfaces';
import { joinUrl, type ProviderHttpClient } from './http-client';
import { httpProviderSettingsSchema } from './http-settings';

/**
 * What an Infobip account needs; from `INFOBIP_*` today (see `providerSettingsFromConfig`). `baseUrl` is the
 * account's personal base URL (`https://<id>.api.infobip.com`), the simulator locally.
 */
export const infobipSettingsSchema = httpProviderSettingsSchema.extend({
  /** API key, sent as `Authorization: App <key>`. */
  apiKey: z.string().min(1),
});
export type InfobipSettings = z.infer<typeof infobipSettingsSchema>;

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
      joinUrl(this.settings.baseUrl, '/whatsapp/1/message/text'),
      {
        headers: { authorization: `App ${this.settings.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from, to, content: { text: body } }),
      },
      readInfobipError,
    );
    return { providerMessageId: response.json<{ messageId?: string }>()?.messageId };
  }
}
