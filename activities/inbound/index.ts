import { CredentialsCipher } from '../../common/crypto/credentials-cipher';
import type { ActivityDeps } from '../activity-deps';
import { postInboundMessage } from './post-inbound-message';

/** The activity of inbound WhatsApp messages that no open conversation awaits (docs/whatsapp.md). */
export function createInboundActivities(deps: ActivityDeps) {
  const inboundDeps = {
    config: deps.config,
    inboundMessages: deps.inboundMessages,
    providers: deps.providerRegistry,
    cipher: new CredentialsCipher(deps.config.env.PROVIDER_CREDENTIALS_KEYS),
    http: deps.callbackHttp,
  };
  return {
    postInboundMessage: (input: { inboundId: string }) => postInboundMessage(inboundDeps, input),
  };
}
