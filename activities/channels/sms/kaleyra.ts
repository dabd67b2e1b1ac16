import type { Env } from '../../../common/config';
import type { ProviderReceipt, SmsProvider, TextMessage } from '../channel-providers';
import { formBody, joinUrl, type ProviderHttpClient } from '../http-client';

/** Kaleyra's error JSON: `{ code: 'E413', message, error: {...} }`. */
export const readKaleyraError = (body: unknown) => {
  const error = body as { code?: string; message?: string } | undefined;
  return { code: error?.code ? `KALEYRA_${error.code}` : undefined, detail: error?.message };
};

export type KaleyraEnv = Pick<Env, 'KALEYRA_BASE_URL' | 'KALEYRA_API_KEY' | 'KALEYRA_SID'>;

/** Kaleyra v1 API: `POST /v1/{sid}/<resource>` with the `api-key` header and a form body. */
export async function kaleyraPost(
  http: ProviderHttpClient,
  env: KaleyraEnv,
  resource: string,
  fields: Record<string, string>,
): Promise<ProviderReceipt> {
  const url = joinUrl(env.KALEYRA_BASE_URL, `/v1/${encodeURIComponent(env.KALEYRA_SID)}/${resource}`);
  const response = await http.call(
    'kaleyra',
    url,
    {
      headers: { 'api-key': env.KALEYRA_API_KEY, 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody(fields),
    },
    readKaleyraError,
  );
  const json = response.json<{ id?: string; data?: { message_id?: string }[] }>();
  return { providerMessageId: json?.data?.[0]?.message_id ?? json?.id };
}

/** SMS through Kaleyra's messages API. */
export class KaleyraSmsProvider implements SmsProvider {
  constructor(
    private readonly http: ProviderHttpClient,
    private readonly env: KaleyraEnv,
  ) {}

  sendSms({ from, to, body }: TextMessage): Promise<ProviderReceipt> {
    return kaleyraPost(this.http, this.env, 'messages', { to, sender: from, body, type: 'TXN' });
  }
}
