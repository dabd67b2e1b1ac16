import type { AppConfig, Channel } from '../../../common/config/config';
import { CredentialsCipher } from '../../../common/crypto/credentials-cipher';
import { badRequest, conflict, HttpError, notFound } from '../../../common/domain/http-errors';
import { originationNumberProblem, type PinpointSettings } from '../../../providers/pinpoint-provider';
import type { ProvidersRepository } from '../../../common/store/providers-repository';
import { PROVIDER_CHANNELS, type ProviderType } from '../../../providers/provider-registry';

/**
 * Which provider a message goes through (docs/os1-messaging.md), decided when the request is accepted and
 * stored with it: the registered provider it names (unknown → 404, inactive → 409, of another channel → 400, each
 * naming `field`), else the channel's active tenant default, else the configured provider of the channel (null).
 * One lookup per (channel, name) per request, and the tenant defaults read once.
 */
export class ProviderChoice {
  private readonly chosen = new Map<string, Promise<string | null>>();
  /** Every channel's tenant default claim, read once per request (a send to three channels asks for three). */
  private defaults: Promise<Map<string, string>> | undefined;

  /** Each Pinpoint provider's settings, decrypted once per request. */
  private readonly pinpointSettings = new Map<string, Promise<PinpointSettings | null>>();

  constructor(private readonly deps: { config: AppConfig; providers: ProvidersRepository }) {}

  /**
   * A 400 naming `field` when the chosen registered provider is a Pinpoint one and `number` is not among its
   * originators (providers/pinpoint-provider.ts); other providers send from any number they are given.
   */
  async checkOriginationNumber(provider: string | null, number: string, field: string): Promise<void> {
    if (provider === null) return;
    if (!this.pinpointSettings.has(provider)) this.pinpointSettings.set(provider, this.readPinpointSettings(provider));
    const settings = await this.pinpointSettings.get(provider)!;
    const problem = settings && originationNumberProblem(settings, number);
    if (problem) throw badRequest(`${field}: ${problem}`);
  }

  private async readPinpointSettings(name: string): Promise<PinpointSettings | null> {
    const provider = await this.deps.providers.get(name);
    if (provider?.providerType !== 'pinpoint') return null;
    try {
      const cipher = new CredentialsCipher(this.deps.config.env.PROVIDER_CREDENTIALS_KEYS);
      // Stored by the provider API only after the Pinpoint settings schema accepted them.
      return cipher.decrypt(provider.credentials, provider.name) as PinpointSettings;
    } catch (error) {
      throw new HttpError(503, `provider "${name}": its settings cannot be read (${(error as Error).message})`);
    }
  }

  choose(name: string | undefined, channel: Channel, field: string): Promise<string | null> {
    const key = `${channel}|${name ?? ''}`;
    if (!this.chosen.has(key)) this.chosen.set(key, this.find(name, channel, field));
    return this.chosen.get(key)!;
  }

  private async find(name: string | undefined, channel: Channel, field: string): Promise<string | null> {
    if (name !== undefined) {
      const provider = await this.deps.providers.get(name);
      if (!provider) throw notFound(`${field}: no provider is registered as "${name}"`);
      if (!provider.isActive) throw conflict(`${field}: provider "${name}" is inactive`);
      if (provider.channel !== channel || !PROVIDER_CHANNELS[provider.providerType as ProviderType]?.includes(channel))
        throw badRequest(`${field}: provider "${name}" sends ${provider.channel}, not ${channel}`);
      return provider.name;
    }
    this.defaults ??= this.deps.providers.defaultProviders();
    const tenantDefault = await this.deps.providers.tenantDefault(channel, await this.defaults);
    if (tenantDefault?.isActive) return tenantDefault.name;
    if (!this.deps.config.service.activeChannels.includes(channel)) {
      throw badRequest(
        `${field}: no provider for ${channel}: it is not in activeChannels and no active provider is registered as its default`,
      );
    }
    return null;
  }
}
