import { PermanentProviderError } from '../../common/domain/http-errors';
import type { Channel } from '../../common/config/config';
import type {
  EmailProvider,
  ProviderReceipt,
  PushProvider,
  SmsProvider,
  VoiceProvider,
  WhatsappProvider,
} from '../../providers/channel-interfaces';

/**
 * The provider of a channel missing from `activeChannels`: nothing is configured for it, so it refuses every
 * message for good. The API accepts no send on such a channel; a retry of a send made while it was active ends here.
 */
export class InactiveChannelProvider
  implements EmailProvider, SmsProvider, VoiceProvider, PushProvider, WhatsappProvider
{
  constructor(private readonly channel: Channel) {}

  private refuse(): Promise<ProviderReceipt> {
    return Promise.reject(
      new PermanentProviderError(`${this.channel} is not in activeChannels: it has no provider`, 'CHANNEL_INACTIVE'),
    );
  }

  sendEmail = () => this.refuse();
  sendSms = () => this.refuse();
  call = () => this.refuse();
  sendPush = () => this.refuse();
  sendWhatsapp = () => this.refuse();
}
