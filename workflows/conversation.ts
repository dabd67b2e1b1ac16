import {
  ActivityFailure,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { SendActivities } from '../activities';
import {
  MAX_INVALID_ANSWERS,
  answerSignal,
  answerUpdate,
  deliveryStatusSignal,
  type AnswerSignal,
  type AnswerTaken,
  type ConversationStatus,
  type ConversationWebhookPayload,
  type ConversationWebhookTarget,
  type DeliveryStatusSignal,
} from '../common/temporal/conversation-signals';
import { SEARCH_ATTRIBUTES } from '../common/temporal/search-attributes';
import type { DispatchRetryOptions } from './send-message';

export interface ConversationInput {
  /** `conv-<uuid>`, the workflow id: the activities read everything else from the conversation's document. */
  conversationId: string;
  /** `responseTimeout` of the request: how long the answer is waited for once the message is sent. */
  responseTimeoutSeconds: number;
  /** The provider calls' backoff (`dispatchRetry`); the ledger counts the attempts. */
  retry: DispatchRetryOptions;
  /** How long a webhook that does not answer 2xx is retried (`callbacks.retryWindowMinutes`). */
  webhookRetryWindowMs: number;
}

/** Marks histories whose late answers go to `webhook.defaultInbound` (before it, a late answer was dropped). */
const LATE_ANSWERS_PATCH = 'late-answers-to-default-inbound';

/** Answers kept waiting beyond this are dropped: a flood of messages must not grow the history without end. */
const MAX_QUEUED_ANSWERS = MAX_INVALID_ANSWERS + 1;
/** Late answers forwarded at most: each is one more activity in the history. */
const MAX_LATE_ANSWERS = MAX_INVALID_ANSWERS;
/** Delivery statuses forwarded at most: sent, delivered, read of the question and of each error message. */
const MAX_DELIVERY_STATUSES = 3 * (MAX_INVALID_ANSWERS + 1);

// Our own stores only: retried until they answer.
const { classifyAnswer, setConversationStatus, closeConversation } = proxyActivities<SendActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * A two-way WhatsApp conversation (docs/whatsapp.md): sends the template, then waits on a durable timer of
 * `responseTimeout` for the customer's answers (signal `answer`, from the inbound webhook). Each answer is classified
 * by an activity (accepted response, `dynamicResponseRegex`, or invalid) and posted to its webhook; an invalid one
 * gets the customer `errorMessage` and the conversation waits on, until `MAX_INVALID_ANSWERS` of them fail it. The
 * timeout goes to `webhook.status`, as do the message's delivery statuses (signal `deliveryStatus`). Deterministic:
 * no I/O, no clocks but the workflow's; the numbers, texts of the template and the webhooks' secrets never enter
 * the history (the activities read them from the conversation's document).
 */
export async function conversation(input: ConversationInput): Promise<{ status: ConversationStatus }> {
  const { conversationId, retry } = input;
  const { sendConversationMessage } = proxyActivities<SendActivities>({
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
    },
  });
  const { callConversationWebhook } = proxyActivities<SendActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: input.webhookRetryWindowMs,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });

  const answers: AnswerSignal[] = [];
  const seenAnswers = new Set<string>();
  let decided = false;
  // Answers taken before the timer fires are classified, even after it; later ones are too late.
  let timedOut = false;
  let lateAnswers = 0;
  const takeAnswer = (answer: AnswerSignal): AnswerTaken => {
    if (seenAnswers.has(answer.messageId)) return { taken: 'repeated' };
    if (decided || timedOut) {
      // Too late to answer the question, but the customer wrote: the integrator hears of it, as of any message of
      // the customer's that no conversation awaits.
      if (lateAnswers >= MAX_LATE_ANSWERS || !patched(LATE_ANSWERS_PATCH)) return { taken: 'dropped' };
      lateAnswers++;
      seenAnswers.add(answer.messageId);
      call('defaultInbound', { event: 'late_answer', status, answer });
      return { taken: 'late' };
    }
    if (answers.length >= MAX_QUEUED_ANSWERS) return { taken: 'dropped' };
    seenAnswers.add(answer.messageId);
    answers.push(answer);
    return { taken: 'queued' };
  };
  setHandler(answerSignal, (answer) => {
    takeAnswer(answer);
  });
  setHandler(answerUpdate, takeAnswer);
  const deliveries: DeliveryStatusSignal[] = [];
  const seenDeliveries = new Set<string>();
  const takeDelivery = (delivery: DeliveryStatusSignal) => {
    const key = `${delivery.providerMessageId}|${delivery.status}`;
    if (seenDeliveries.has(key) || seenDeliveries.size >= MAX_DELIVERY_STATUSES) return;
    seenDeliveries.add(key);
    deliveries.push(delivery);
  };
  setHandler(deliveryStatusSignal, takeDelivery);

  let status: ConversationStatus = 'sending';
  const show = (next: ConversationStatus) => {
    status = next;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.conversationStatus, value: next }]);
  };
  /** The end, before its webhooks: the document says it, and the pair is free for a new conversation at once. */
  const close = async (final: 'answered' | 'timed_out' | 'failed') => {
    decided = true;
    show(final);
    await closeConversation({ conversationId, status: final });
  };

  // Webhook calls run beside the conversation: a receiver that is down (retried for hours) holds nothing up.
  const calls = new Set<Promise<void>>();
  let callNumber = 0;
  const call = (target: ConversationWebhookTarget, payload: ConversationWebhookPayload) => {
    const n = ++callNumber;
    const running: Promise<void> = callConversationWebhook({ conversationId, target, n, payload })
      .then(
        () => undefined,
        (error: unknown) => {
          // Given up after the retry window: the transcript holds every attempt's outcome.
          if (!(error instanceof ActivityFailure)) throw error;
          log.warn('conversation webhook given up', { conversationId, target, n });
        },
      )
      .finally(() => calls.delete(running));
    calls.add(running);
  };
  const forwardDeliveries = () => {
    for (const delivery of deliveries.splice(0)) call('status', { event: 'delivery', status, delivery });
  };

  const sent = await sendConversationMessage({ conversationId, key: 'question' });
  // Reports that came before the message's provider id was stored (recorded in the activity's result, so replay
  // takes the same ones).
  if (sent.status === 'sent') sent.earlyReports?.forEach(takeDelivery);
  if (sent.status === 'failed') {
    await close('failed');
    call('status', { event: 'failed', status: 'failed', reason: `the message was not sent: ${sent.code}` });
  } else {
    show('awaiting_response');
    await setConversationStatus({ conversationId, status: 'awaiting_response' });
    // One durable timer for the whole wait, visible as such in the history; answers and reports do not restart it.
    void sleep(input.responseTimeoutSeconds * 1000).then(() => {
      timedOut = true;
    });
    let invalidAnswers = 0;
    while (!decided) {
      await condition(() => timedOut || answers.length > 0 || deliveries.length > 0);
      forwardDeliveries();
      if (answers.length === 0 && timedOut) {
        await close('timed_out');
        call('status', { event: 'timeout', status: 'timed_out' });
        break;
      }
      const answer = answers.shift();
      if (!answer) continue;
      const classified = await classifyAnswer({ conversationId, ...answer });
      const routed = { ...answer, ...classified };
      if (classified.classification !== 'invalid') {
        await close('answered');
        const target =
          classified.classification === 'accepted' ? `accepted:${classified.acceptedResponse}` : 'defaultInbound';
        call(target as ConversationWebhookTarget, { event: 'answer', status: 'answered', answer: routed });
        break;
      }
      invalidAnswers++;
      if (invalidAnswers >= MAX_INVALID_ANSWERS) {
        await close('failed');
        call('invalidResponse', { event: 'answer', status: 'failed', answer: routed });
        call('status', { event: 'failed', status: 'failed', reason: `${MAX_INVALID_ANSWERS} invalid answers` });
        break;
      }
      call('invalidResponse', { event: 'answer', status, answer: routed });
      const errorSent = await sendConversationMessage({ conversationId, key: `error-${invalidAnswers}` });
      if (errorSent.status === 'sent') errorSent.earlyReports?.forEach(takeDelivery);
    }
  }
  // Delivery statuses that come while the last webhooks are retried are still forwarded.
  while (calls.size > 0) {
    await Promise.all(calls);
    forwardDeliveries();
  }
  return { status };
}
