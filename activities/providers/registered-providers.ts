import type { Channel } from '../../common/config/config';
import { PermanentProviderError } from '../../common/domain/http-errors';
import type { ProviderType } from '../../providers/provider-registry';
import {
  registeredSettingsProblems,
  type RegisteredProviderPolicyOptions,
} from '../../providers/registered-provider-policy';
import type {
  ChannelProviders,
  EmailProvider,
  PushProvider,
  SmsProvider,
  VoiceProvider,
  WhatsappProvider,
} from '../../providers/channel-interfaces';
import { ProviderHttpClient } from '../../providers/http-client';
import { createProvider, type ProviderSpec } from './provider-factory';

/** What the worker reads of a registered provider (`/providers`): the registry's document, credentials encrypted. */
export interface RegisteredProviderDocument {
  name: string;
  providerType: string;
  channel: Channel;
  credentials: unknown;
  isActive: boolean;
  updatedAt: Date;
}

export interface ProviderRegistry {
  get(name: string): Promise<RegisteredProviderDocument | null>;
}

export interface CredentialsDecrypter {
  /** `provider`: the name of the registered provider whose document holds them (common/crypto/credentials-cipher.ts). */
  decrypt(encrypted: never, provider?: string): Record<string, unknown>;
}

/** A provider that can send on the message channels; each instance implements the ones its type serves. */
export type MessageChannelProvider = Partial<
  EmailProvider & SmsProvider & WhatsappProvider & VoiceProvider & PushProvider
> & {
  close?(): Promise<void> | void;
};

export interface RegisteredProvider {
  name: string;
  providerType: string;
  channel: Channel;
  instance: MessageChannelProvider;
}

/**
 * The registered providers as the worker uses them (docs/os1-messaging.md): looked up by name for each
 * dispatch batch, their credentials decrypted only here, in the worker's memory (never in a workflow's input or a
 * log line), and built once per version of the registry's document: a changed credential is used from the next
 * batch. A replaced instance is closed only when the worker stops, since a batch may still be sending through it.
 */
export class RegisteredProviders {
  /** Keyed `<name>@<updatedAt>`: concurrent batches share one build of a version. */
  private readonly built = new Map<string, Promise<RegisteredProvider>>();
  private readonly current = new Map<string, string>();
  private readonly replaced: Promise<RegisteredProvider>[] = [];
  private readonly http: ProviderHttpClient;

  /**
   * `options.policy`: what the API checks when it stores a provider, checked again before one is built (a document
   * stored before the rules, or written to the database directly, is refused too). `allowPrivateNetworks`: whether
   * their calls may reach loopback and private addresses (`ALLOW_PRIVATE_NETWORK_URLS`); every call goes through the
   * SSRF guard.
   */
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly cipher: CredentialsDecrypter,
    private readonly options: { policy: RegisteredProviderPolicyOptions; allowPrivateNetworks: boolean } = {
      policy: { anyHost: false },
      allowPrivateNetworks: false,
    },
  ) {
    this.http = new ProviderHttpClient({ allowPrivateNetworks: options.allowPrivateNetworks });
  }

  /** The provider registered under `name`; a `PermanentProviderError` when it is gone or inactive. */
  async get(name: string): Promise<RegisteredProvider> {
    const document = await this.registry.get(name);
    if (!document) throw new PermanentProviderError(`provider "${name}" is no longer registered`, 'PROVIDER_NOT_FOUND');
    if (!document.isActive) throw new PermanentProviderError(`provider "${name}" is inactive`, 'PROVIDER_INACTIVE');
    const version = `${name}@${document.updatedAt.getTime()}`;
    let provider = this.built.get(version);
    if (!provider) {
      provider = this.build(document);
      this.built.set(version, provider);
      provider.catch(() => this.built.delete(version));
      const previous = this.current.get(name);
      if (previous && previous !== version) {
        this.replaced.push(this.built.get(previous)!);
        this.built.delete(previous);
      }
      this.current.set(name, version);
    }
    return provider;
  }

  private async build(document: RegisteredProviderDocument): Promise<RegisteredProvider> {
    const settings = this.cipher.decrypt(document.credentials as never, document.name);
    const problems = registeredSettingsProblems(document.providerType as ProviderType, settings, this.options.policy);
    if (problems.length > 0) {
      const refused = problems.map(({ field, message }) => `${field}: ${message}`).join('; ');
      throw new PermanentProviderError(`provider "${document.name}" refused: ${refused}`, 'PROVIDER_SETTINGS_REFUSED');
    }
    const instance = createProvider({ providerType: document.providerType, settings } as ProviderSpec, {
      http: this.http,
    }) as MessageChannelProvider;
    return { name: document.name, providerType: document.providerType, channel: document.channel, instance };
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.built.values(), ...this.replaced]);
    for (const settled of all) if (settled.status === 'fulfilled') await settled.value.instance.close?.();
    this.built.clear();
    await this.http.close();
  }
}

/**
 * The providers of a `/send` whose request names a registered provider for `channel`: the configured ones, with that
 * channel's replaced by the registered one. A registered provider of a type that does not serve the channel refuses
 * every message for good (`CHANNEL_NOT_SERVED`), as the API already refuses to choose one.
 */
export function withRegisteredProvider(
  configured: ChannelProviders,
  channel: Channel,
  registered: RegisteredProvider,
): ChannelProviders {
  const { instance } = registered;
  const refuse = (): never => {
    throw new PermanentProviderError(`provider "${registered.name}" does not send ${channel}`, 'CHANNEL_NOT_SERVED');
  };
  const replacement: Record<Channel, object> = {
    email: { sendEmail: instance.sendEmail?.bind(instance) ?? refuse },
    sms: { sendSms: instance.sendSms?.bind(instance) ?? refuse },
    voice: { call: instance.call?.bind(instance) ?? refuse },
    push: { sendPush: instance.sendPush?.bind(instance) ?? refuse },
    whatsapp: { sendWhatsapp: instance.sendWhatsapp?.bind(instance) ?? refuse },
  };
  return { ...configured, [channel]: replacement[channel] } as ChannelProviders;
}
