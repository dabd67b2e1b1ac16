import { ApplicationFailure, Context } from '@temporalio/activity';
import { classifyAnswerText, type AnswerClassification } from '../../common/domain/conversation-answers';
import type { AnswerSignal, ConversationRequest, ConversationWebhook } from '../../common/domain/conversation-model';
import { FAILURE_TYPES } from '../../common/temporal/failure-types';
import type { OutgoingHttpClient } from '../../common/http/outgoing-http';
import { postSignedJson } from '../../common/http/webhook-urls';
import type { ConversationWebhookPayload, ConversationWebhookTarget } from '../../common/temporal/conversation-signals';
import type { ConversationsRepository } from '../../common/store/messaging/conversations-repository';
import { openSecret, type CredentialsCipher } from '../../common/crypto/credentials-cipher';

export interface ConversationWebhookDeps {
  store: ConversationsRepository;
  callbackHttp: OutgoingHttpClient;
  /** Opens the webhook's secret, stored sealed (`sealSecret`). */
  cipher: CredentialsCipher;
}

/**
 * Classifies one answer of the customer (docs/whatsapp.md): one of `acceptedResponses`, a match of
 * `dynamicResponseRegex` (run in a V8 context with a time limit: a regex that takes too long counts as no match), or
 * invalid; the answer and its classification go to the transcript.
 */
export async function classifyAnswer(
  deps: Pick<ConversationWebhookDeps, 'store'>,
  input: { conversationId: string } & AnswerSignal,
): Promise<AnswerClassification> {
  const { conversationId, messageId, text, receivedAt, media } = input;
  const { request } = await deps.store.get(conversationId);
  const classified = classifyAnswerText(request, text);
  await deps.store.record(conversationId, `answer|${messageId}`, 'answer', {
    messageId,
    text,
    ...(media ? { media } : {}),
    receivedAt,
    ...classified,
  });
  return classified;
}

function webhookOf(request: ConversationRequest, target: ConversationWebhookTarget): ConversationWebhook | undefined {
  if (target.startsWith('accepted:'))
    return request.acceptedResponses[Number(target.slice('accepted:'.length))]?.webhook;
  return request.webhook[target as 'defaultInbound' | 'status' | 'invalidResponse'];
}

/**
 * One webhook call of a conversation: the event the workflow decided, with the conversation id, the business number
 * (`from`), the customer's number (`to`) and the request's `context`, POSTed as JSON and signed with that webhook's
 * own secret (`X-Signature: sha256=<hex of HMAC-SHA256(secret, X-Timestamp + "." + raw body)>`, as the callbacks of
 * `POST /messages`). The url and secret are read here, from the document, never carried by the workflow. Anything
 * but a 2xx fails the activity, which Temporal retries with backoff; every attempt's outcome is in the transcript,
 * under the call's `eventId`, which a receiver deduplicates on (a crash after the 2xx posts it again).
 */
export async function callConversationWebhook(
  deps: ConversationWebhookDeps,
  input: { conversationId: string; target: ConversationWebhookTarget; n: number; payload: ConversationWebhookPayload },
): Promise<{ posted: boolean }> {
  const { conversationId, target, n, payload } = input;
  const { request } = await deps.store.get(conversationId);
  if (payload.event === 'delivery') {
    const { providerMessageId, status, code } = payload.delivery;
    await deps.store.record(conversationId, `delivery|${providerMessageId}|${status}`, 'delivery_status', {
      providerMessageId,
      status,
      ...(code ? { code } : {}),
    });
  }
  const key = `webhook|${n}`;
  const webhook = webhookOf(request, target);
  if (!webhook) {
    await deps.store.record(conversationId, key, 'webhook_call', { target, event: payload.event, outcome: 'none set' });
    return { posted: false };
  }
  const eventId = `${conversationId}|${n}`;
  const body = JSON.stringify({
    eventId,
    conversationId,
    ...payload,
    from: request.from,
    to: request.to,
    context: request.context,
    timestamp: new Date().toISOString(),
  });
  const attempt = Context.current().info.attempt;
  const { httpStatus, problem } = await postSignedJson(
    deps.callbackHttp,
    { url: webhook.url, secret: openSecret(deps.cipher, webhook.secret) },
    body,
    'messaging-service-conversations',
  );
  await deps.store.record(
    conversationId,
    key,
    'webhook_call',
    {
      eventId,
      target,
      event: payload.event,
      url: webhook.url,
      attempts: attempt,
      outcome: problem === undefined ? 'delivered' : 'retrying',
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      ...(problem !== undefined ? { error: problem } : {}),
    },
    { replaceDetail: true },
  );
  if (problem !== undefined) {
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.callbackNotAccepted,
      message: `conversation webhook ${target} not accepted (retried): ${problem}`,
    });
  }
  return { posted: true };
}
