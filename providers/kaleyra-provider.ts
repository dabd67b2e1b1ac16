import type { z } from 'zod';
import type { ProviderReceipt, SmsProvider, TextMessage, VoiceProvider } from './channel-interfaces';
import { codeAndMessageErrorReader, formBody, joinUrl, type ProviderHttpClient } from './http-client';
import { defineProvider, httpProviderSettingsSchema, nonEmpty, SIMULATOR_URL } from './provider-module';

/**
 * What a Kaleyra account needs; from `KALEYRA_*` in configuration. `baseUrl` is the base of Kaleyra's v1 API:
 * `https://api.kaleyra.io` in production, the simulator locally.
 */
export const kaleyraSettingsSchema = httpProviderSettingsSchema
  .extend({
    /** API key, sent in the `api-key` header. */
    apiKey: nonEmpty,
    /** Account SID, the first segment of every resource path (`/v1/{sid}/...`). */
    sid: nonEmpty,
  })
  .describe('{baseUrl, apiKey, sid}');
export type KaleyraSettings = z.infer<typeof kaleyraSettingsSchema>;

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

export const kaleyraProvider = defineProvider({
  type: 'kaleyra',
  channels: ['sms', 'voice'],
  settingsSchema: kaleyraSettingsSchema,
  environment: { baseUrl: 'KALEYRA_BASE_URL', apiKey: 'KALEYRA_API_KEY', sid: 'KALEYRA_SID' },
  defaultFor: ['voice'],
  profileDefaults: {
    production: { baseUrl: 'https://api.kaleyra.io' },
    development: { baseUrl: SIMULATOR_URL, apiKey: 'simulator-key', sid: 'HXsimulator' },
  },
  urlSettings: ['baseUrl'],
  publicHosts: ['api.kaleyra.io', '*.kaleyra.io'],
  errorReader: { answerBody: readKaleyraError },
  build: (settings, { http }) => new KaleyraProvider(http, settings),
});
