import { PermanentProviderError } from '../../common/domain/http-errors';
import type { ReportingProvider } from '../../common/store/messaging/delivery-reports-repository';
import type { MessageChannel, StoredMessage } from '../../common/store/messaging/message-requests-repository';
import { reportWebhookUrl } from '../../common/http/webhook-urls';
import { unsubscribeUrl } from '../../common/http/unsubscribe-token';
import type { DeliveryDeps } from '../dispatch/deliver';
import { listUnsubscribeHeaders } from '../dispatch/unsubscribe-link';
import type { ProviderReceipt } from '../providers';
import type { MessageChannelProvider, RegisteredProviders } from '../providers/registered-providers';
import type { ProviderMessage } from './render-message';

/** The provider families that report deliveries on a webhook of ours, and the path of each. */
export const REPORT_WEBHOOKS: Partial<Record<string, { provider: ReportingProvider; path: string }>> = {
  twilio: { provider: 'twilio', path: '/webhooks/twilio/status' },
  infobip: { provider: 'infobip', path: '/webhooks/infobip/reports' },
  // Their events come through the SNS subscription of the provider's configuration set, not a URL per message.
  ses: { provider: 'ses', path: '/webhooks/aws/events' },
  pinpoint: { provider: 'pinpoint', path: '/webhooks/aws/events' },
};

/** The provider one message goes through: a registered one by name, or the configured one of its channel. */
export interface ResolvedProvider {
  providerType: string;
  /** The registered name; null for the configured provider. */
  name: string | null;
  instance: MessageChannelProvider;
}

/** Sends one rendered message through `provider`; refused when it does not serve the message's channel. */
export function sendThrough(provider: ResolvedProvider, rendered: ProviderMessage): Promise<ProviderReceipt> {
  const { instance } = provider;
  const refuse = () =>
    Promise.reject(
      new PermanentProviderError(
        `provider ${provider.name ?? provider.providerType} does not send ${rendered.channel}`,
        'CHANNEL_NOT_SERVED',
      ),
    );
  switch (rendered.channel) {
    case 'sms':
      return instance.sendSms ? instance.sendSms(rendered.message) : refuse();
    case 'email':
      return instance.sendEmail ? instance.sendEmail(rendered.message) : refuse();
    case 'whatsapp':
      return instance.sendWhatsapp ? instance.sendWhatsapp(rendered.message) : refuse();
  }
}

/**
 * Where a batch's messages on `channel` go, by the provider each names (null: the channel's configured one), looked up
 * once per provider and batch, not per address.
 */
export function providerResolver(
  deps: Pick<DeliveryDeps, 'config' | 'providers'> & { registered: RegisteredProviders },
  channel: MessageChannel,
): (name: string | null) => Promise<ResolvedProvider> {
  const providers = new Map<string | null, Promise<ResolvedProvider>>();
  const providerOf = (name: string | null): Promise<ResolvedProvider> => {
    if (!providers.has(name)) {
      providers.set(
        name,
        name === null
          ? Promise.resolve({
              providerType: deps.config.service.providers[channel],
              name: null,
              instance: deps.providers[channel] as MessageChannelProvider,
            })
          : deps.registered.get(name).then(({ providerType, instance }) => ({ providerType, name, instance })),
      );
    }
    return providers.get(name)!;
  };
  return providerOf;
}

/**
 * An email with its one-click unsubscribe link (RFC 8058) for the address, unless it is critical: a POST of the link
 * puts the address on the email suppression list.
 */
export function withUnsubscribeLink(
  deps: Pick<DeliveryDeps, 'config'>,
  message: StoredMessage,
  to: string,
  rendered: ProviderMessage,
): ProviderMessage {
  if (rendered.channel !== 'email' || message.critical) return rendered;
  const category = message.category === undefined ? {} : { category: message.category };
  const url = unsubscribeUrl(deps.config.env, { address: to, channel: 'email', ...category });
  return url === null
    ? rendered
    : { ...rendered, message: { ...rendered.message, headers: listUnsubscribeHeaders(url) } };
}

/** Where the provider reports this message's delivery, with the provider's name for its credentials. */
export function statusCallbackUrl(deps: Pick<DeliveryDeps, 'config'>, provider: ResolvedProvider): string | undefined {
  const webhook = REPORT_WEBHOOKS[provider.providerType];
  if (!webhook || !deps.config.env.WEBHOOK_SECRET) return undefined;
  // A registered provider is given a token of its own, which proves its own reports only.
  return reportWebhookUrl(deps.config.env, webhook.path, provider.name);
}
