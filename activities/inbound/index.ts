import type { Collection } from 'mongodb';
import { CredentialsCipher } from '../../common/crypto/credentials-cipher';
import type { InboundMessageDocument } from '../../common/domain/inbound-message-model';
import { ProvidersRepository } from '../../common/store/providers-repository';
import type { ActivityDeps } from '../activity-deps';
import { postInboundMessage } from './post-inbound-message';

/** The activity of inbound WhatsApp messages that no open conversation awaits (docs/whatsapp.md). */
export function createInboundActivities(deps: ActivityDeps) {
  const inboundDeps = {
    config: deps.config,
    inboundMessages: deps.database.inboundMessages as unknown as Collection<InboundMessageDocument>,
    providers: new ProvidersRepository(deps.database),
    cipher: new CredentialsCipher(deps.config.env.PROVIDER_CREDENTIALS_KEYS),
    http: deps.callbackHttp,
  };
  return {
    postInboundMessage: (input: { inboundId: string }) => postInboundMessage(inboundDeps, input),
  };
}
