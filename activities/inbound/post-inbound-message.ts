import { ApplicationFailure } from '@temporalio/activity';
import type { AppConfig } from '../../common/config/config';
import type { CredentialsCipher } from '../../common/crypto/credentials-cipher';
import { FAILURE_TYPES } from '../../common/temporal/failure-types';
import type { InboundWebhookPayload } from '../../common/domain/inbound-message-model';
import type { OutgoingHttpClient } from '../../common/http/outgoing-http';
import type {
  InboundMessagesRepository,
  InboundWebhookOutcome,
} from '../../common/store/messaging/inbound-messages-repository';
import type { ProvidersRepository } from '../../common/store/providers-repository';
import { postSignedJson } from '../../common/http/webhook-urls';

export interface InboundDeps {
  config: AppConfig;
  inboundMessages: InboundMessagesRepository;
  providers: ProvidersRepository;
  cipher: CredentialsCipher;
  http: OutgoingHttpClient;
}

/**
 * Posts one inbound message to its provider's default inbound webhook (docs/api.md "Providers"), signed with that
 * webhook's secret like the callbacks (`X-Signature: sha256=<hex of HMAC-SHA256(secret, X-Timestamp + "." + raw
 * body)>`). The URL and the secret are read here, at the time of the post, never carried in the workflow's input or
 * history. A 2xx is recorded on the message and ends it; anything else is recorded and fails the activity, which
 * the workflow retries; a message whose provider has no webhook any more (or that expired) is left.
 */
export async function postInboundMessage(
  deps: InboundDeps,
  input: { inboundId: string },
): Promise<{ posted: boolean }> {
  const message = await deps.inboundMessages.get(input.inboundId);
  if (!message) return { posted: false };
  if (message.webhook?.deliveredAt) return { posted: true };
  const webhook = (await deps.providers.get(message.provider))?.inboundWebhook;
  if (!webhook) {
    await deps.inboundMessages.webhookGone(message._id);
    return { posted: false };
  }
  const secret = String(deps.cipher.decrypt(webhook.secret, message.provider).secret);
  const payload: InboundWebhookPayload = {
    event: 'inbound_message',
    provider: message.provider,
    messageId: message.messageId,
    from: message.from,
    to: message.to,
    type: message.type,
    text: message.text,
    ...(message.media ? { media: message.media } : {}),
    receivedAt: message.receivedAt.toISOString(),
    pairedMessageId: message.pairedMessageId,
    conversationId: null,
  };
  const {
    httpStatus: status,
    problem,
    forbidden,
  } = await postSignedJson(
    deps.http,
    { url: webhook.url, secret },
    JSON.stringify(payload),
    'messaging-service-inbound',
  );
  if (forbidden) {
    await recordAttempt(deps, message._id, { lastError: problem });
    throw ApplicationFailure.nonRetryable(problem!, FAILURE_TYPES.inboundNotAccepted);
  }
  if (problem === undefined) {
    await recordAttempt(deps, message._id, { lastStatus: status, deliveredAt: new Date() });
    return { posted: true };
  }
  await recordAttempt(deps, message._id, {
    ...(status !== undefined ? { lastStatus: status } : {}),
    lastError: problem,
  });
  throw ApplicationFailure.create({ type: FAILURE_TYPES.inboundNotAccepted, message: problem });
}

function recordAttempt(deps: InboundDeps, inboundId: string, outcome: InboundWebhookOutcome): Promise<void> {
  return deps.inboundMessages.recordWebhookAttempt(inboundId, outcome);
}
