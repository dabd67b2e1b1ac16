import type { ConversationStatus } from '../../common/domain/conversation-model';
import { MessageRenderer } from '../../common/rendering/rendering';
import { renderPoolOptions, sharedRenderPool } from '../../common/rendering/render-pool';
import type { AnswerSignal } from '../../common/domain/conversation-model';
import type { ActivityDeps } from '../activity-deps';
import type { ActivityMetrics } from '../activity-metrics';
import { OsMessageRenderer } from '../messages/render-message';
import type { ChannelRateLimiter } from '../rate-limiter';
import type { ConversationWebhookPayload, ConversationWebhookTarget } from '../../common/temporal/conversation-signals';
import { callConversationWebhook, classifyAnswer } from './conversation-webhooks';
import { sendConversationMessage, type ConversationMessageInput } from './send-conversation-message';

/**
 * The activities of the `conversation` workflow (docs/whatsapp.md): sending its messages, classifying the
 * customer's answers, calling the webhooks, and writing its status. They share the dispatches' rate limiter and
 * metrics.
 */
export function createConversationActivities(
  deps: ActivityDeps,
  shared: { metrics: ActivityMetrics; limiter: ChannelRateLimiter },
) {
  const store = deps.conversations;
  const messageDeps = {
    ...deps,
    ...shared,
    store,
    renderer: new OsMessageRenderer(
      new MessageRenderer(deps.config.env.DEFAULT_LOCALE),
      sharedRenderPool(renderPoolOptions(deps.config.env)),
      deps.config.service.sender,
    ),
  };
  return {
    sendConversationMessage: (input: ConversationMessageInput) => sendConversationMessage(messageDeps, input),
    classifyAnswer: (input: { conversationId: string } & AnswerSignal) => classifyAnswer({ store }, input),
    callConversationWebhook: (input: {
      conversationId: string;
      target: ConversationWebhookTarget;
      n: number;
      payload: ConversationWebhookPayload;
    }) => callConversationWebhook({ store, callbackHttp: deps.callbackHttp, cipher: deps.credentialsCipher }, input),
    setConversationStatus: (input: { conversationId: string; status: ConversationStatus }) =>
      store.setStatus(input.conversationId, input.status),
    closeConversation: (input: { conversationId: string; status: ConversationStatus }) =>
      store.close(input.conversationId, input.status),
  };
}
