import type { ProviderReceipt, TextMessage, VoiceProvider } from '../channel-providers';
import type { ProviderHttpClient } from '../http-client';
import { kaleyraPost, type KaleyraEnv } from '../sms/kaleyra';

/** Voice through Kaleyra's outbound call API: a text-to-speech `target` read to the callee. */
export class KaleyraVoiceProvider implements VoiceProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly env: KaleyraEnv,
  ) {}

  call({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    return kaleyraPost(this.http, this.env, 'voice/outbound', {
      to,
      bridge: from,
      target: JSON.stringify([{ message: { text: body } }]),
    });
  }
}
