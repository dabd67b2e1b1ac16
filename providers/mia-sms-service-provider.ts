import { z } from 'zod';
import type { ProviderReceipt, SmsProvider, TextMessage } from './channel-interfaces';
import { joinUrl, type ProviderHttpClient } from './http-client';
import { defineProvider } from './provider-module';

/** Where Mia-Platform's SMS Service runs; `SMS_SERVICE_URL` in configuration. */
export const miaSmsServiceSettingsSchema = z
  .strictObject({
    /** Base URL of the SMS Service; messages go to `POST {baseUrl}/send`. */
    baseUrl: z.url(),
  })
  .describe('{baseUrl}');
export type MiaSmsServiceSettings = z.infer<typeof miaSmsServiceSettingsSchema>;

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

export const miaSmsServiceProvider = defineProvider({
  type: 'mia-sms-service',
  channels: ['sms'],
  settingsSchema: miaSmsServiceSettingsSchema,
  environment: { baseUrl: 'SMS_SERVICE_URL' },
  defaultFor: [],
  // It runs in the customer's own cluster: no public endpoint to default to, and no stand-in in the simulator.
  profileDefaults: { production: {}, development: {} },
  urlSettings: ['baseUrl'],
  // No public host either: registering one takes a host added by `registeredProviders.allowedHosts`.
  publicHosts: [],
  // Its answers carry no code of their own: the HTTP status says it all.
  errorReader: null,
  build: (settings, { http }) => new MiaSmsServiceProvider(http, settings),
});
